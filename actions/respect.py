"""Offers that respect people: "why this offer" from the audit row, and stopping offers."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.consent import spoken_scopes
from actions.runtime import household_session, now, render, say
from bot.errors import BotError, NotFoundError
from bot.offers import records
from bot.offers import service as offers


class ActionWhyOffer(Action):
    """「为什么给我推荐这个」: the explanation and the data used, exactly as audited."""

    def name(self) -> str:
        return "action_why_offer"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            with household_session(tracker) as (session, ref):
                record = records.why(session, ref.household_id)
        except NotFoundError:
            say(dispatcher, "utter_why_offer_none")
            return []
        except BotError:
            say(dispatcher, "utter_service_error")
            return []
        card = {
            "type": "offer_audit",
            "title": render(domain, "utter_card_title_why"),
            **record.as_json(),
        }
        say(dispatcher, "utter_why_offer", card, explanation=record.explanation)
        if record.data_scopes:
            say(dispatcher, "utter_why_offer_data", data=spoken_scopes(domain, list(record.data_scopes)))
        else:
            say(dispatcher, "utter_why_offer_no_data")
        if record.proactive:
            say(dispatcher, "utter_why_offer_stop_hint")
        return []


class ActionStopOffers(Action):
    """「别再给我推荐了」: no more proactive offers (answers to questions continue)."""

    def name(self) -> str:
        return "action_stop_offers"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            with household_session(tracker) as (session, ref):
                offers.set_stop_offers(session, ref.household_id, True, now=now())
        except BotError:
            say(dispatcher, "utter_service_error")
            return []
        say(dispatcher, "utter_offers_stopped")
        return []
