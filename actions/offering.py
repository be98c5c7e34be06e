"""Shared steps of the offer flows: asking for consent, and making an audited offer.

Not an action module: it holds no ``Action`` subclass, so rasa-sdk registers nothing from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.runtime import CONSENT_NOTICE_VERSION, Events, awaiting, now, render, say
from bot import offers
from bot.offer_types import Candidate, Decision, OfferContext
from bot.store.repo import HouseholdRef


def make_offer(
    session: Session,
    ref: HouseholdRef,
    tracker: Tracker,
    candidate: Candidate,
    *,
    topic: str,
    proactive: bool = False,
) -> Decision:
    """Let the offer service decide (consent, stop-offers, caps, truthfulness) and audit it."""
    context = OfferContext(ref.household_id, tracker.sender_id, topic, proactive)
    return offers.decide(session, context, [candidate], now())


def consent_card(domain: Mapping[str, Any], scopes: Iterable[str], purpose: str) -> dict[str, Any]:
    """The ``consent_request`` card: which data, for what, how to withdraw (wording from the domain)."""
    wanted = sorted(set(scopes))
    return {
        "type": "consent_request",
        "title": render(domain, "utter_consent_card_title"),
        "scopes": [
            {"scope": scope, "data": render(domain, f"utter_consent_card_{scope}")} for scope in wanted
        ],
        "purpose": render(domain, f"utter_consent_purpose_{purpose}"),
        "withdraw": render(domain, "utter_consent_card_withdraw"),
        "notice_version": CONSENT_NOTICE_VERSION,
        "suggestions": [render(domain, "utter_suggest_yes"), render(domain, "utter_suggest_no")],
    }


def request_consent(
    dispatcher: CollectingDispatcher, domain: Mapping[str, Any], missing: Iterable[str], resume: str
) -> Events:
    """Ask for the missing scopes (nothing computed from the data yet); resume ``resume`` on yes."""
    scopes = sorted(set(missing))
    say(dispatcher, f"utter_consent_request_{resume}", consent_card(domain, scopes, resume))
    return [awaiting("consent"), SlotSet("resume", resume), SlotSet("consent_scopes", scopes)]
