"""Shared steps of the offer flows: asking for consent, making an audited offer, and the abstract
shape of a question about one device category (rasa-sdk registers no abstract class).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.runtime import (
    Events,
    awaiting,
    entity_or_slot,
    household_session,
    now,
    render,
    say,
    topic,
)
from actions.tenancy import config_of, decline_feature
from bot.errors import BotError
from bot.household import consent
from bot.offers import service as offers
from bot.offers.types import Candidate, Decision, OfferContext
from bot.store.repo import HouseholdRef

Responder = Callable[
    [CollectingDispatcher, Tracker, dict[str, Any], Session, HouseholdRef, str | None], Events
]
"""Answers a question about a device category inside the household's session."""


class DeviceTopicAction(Action, ABC):
    """A question about one device category: set the topic, answer it, apologise if a store fails."""

    topic_name: ClassVar[str]
    feature: ClassVar[str | None] = None
    """The tenant feature switch this question needs (None: always answered)."""

    @property
    @abstractmethod
    def respond(self) -> Responder:
        """The function that answers (shared with the consent flow that resumes it)."""

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        device_type = entity_or_slot(tracker, "device_type")
        events: Events = [topic(self.topic_name), awaiting(None), SlotSet("device_type", device_type)]
        try:
            with household_session(tracker) as (session, ref):
                cfg = config_of(ref)
                if self.feature is not None and not cfg.feature_enabled(self.feature):
                    decline_feature(dispatcher, domain, cfg, self.feature)
                    return events
                events += self.respond(dispatcher, tracker, domain, session, ref, device_type)
        except BotError:
            say(dispatcher, "utter_service_error")
        return events


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
    return offers.decide(session, context, [candidate], now(), offers.caps_of(config_of(ref)))


def proactive_blocked(session: Session, ref: HouseholdRef, tracker: Tracker, *, topic: str) -> bool:
    """True when no proactive offer could be made now (checked before computing a costly candidate)."""
    context = OfferContext(ref.household_id, tracker.sender_id, topic, True)
    return offers.proactive_refusal(session, context, now(), offers.caps_of(config_of(ref))) is not None


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
        "notice_version": consent.NOTICE_VERSION,
        "suggestions": [render(domain, "utter_suggest_yes"), render(domain, "utter_suggest_no")],
    }


def request_consent(
    dispatcher: CollectingDispatcher, domain: Mapping[str, Any], missing: Iterable[str], resume: str
) -> Events:
    """Ask for the missing scopes (nothing computed from the data yet); resume ``resume`` on yes."""
    scopes = sorted(set(missing))
    say(dispatcher, f"utter_consent_request_{resume}", consent_card(domain, scopes, resume))
    return [awaiting("consent"), SlotSet("resume", resume), SlotSet("consent_scopes", scopes)]
