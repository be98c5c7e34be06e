"""Listening for everyone and never a dead end: 「再说一遍」, 「说慢一点」, 「什么意思」, and 「我要投诉」/
「转人工」/「联系客服」 (the tenant's hotline and a recorded ticket)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import household_session, now, render, say
from bot.errors import BotError
from bot.household import complaints
from bot.tenants.config import config_of_row
from bot.topics import replay, terms


def repeat(dispatcher: CollectingDispatcher, answer: list[tuple[str, dict[str, Any] | None]]) -> None:
    """Say the previous answer again, word for word, with its cards."""
    for text, card in answer:
        say(dispatcher, "utter_repeat_text", card, said=text)


class ActionRepeat(Action):
    """「再说一遍」: the previous answer again, word for word."""

    def name(self) -> str:
        return "action_repeat"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        answer = replay.last_answer(tracker.events)
        if not answer:
            say(dispatcher, "utter_repeat_nothing")
            return []
        repeat(dispatcher, answer)
        return []


class ActionSpeakSlower(Action):
    """「说慢一点」: the previous answer again, slower; the slower pace stays for the session."""

    def name(self) -> str:
        return "action_speak_slower"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        say(dispatcher, "utter_pace_slow")
        repeat(dispatcher, replay.last_answer(tracker.events))
        return [SlotSet("speech_pace", "slow")]


class ActionExplainTerm(Action):
    """「什么意思」: the term named, or the one the last answer used, in one sentence."""

    def name(self) -> str:
        return "action_explain_term"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = str((tracker.latest_message or {}).get("text") or "")
        term = terms.named_term(text) or terms.term_used(
            text for text, _ in replay.last_answer(tracker.events)
        )
        if term is None:
            say(dispatcher, "utter_term_unknown")
            return []
        values: dict[str, Any] = {}
        if term == "cooling_off":
            values["days"] = self._cancel_days(tracker)
        say(dispatcher, terms.response_of(term), **values)
        return []

    @staticmethod
    def _cancel_days(tracker: Tracker) -> int:
        try:
            with household_session(tracker) as (_, ref):
                return config_of_row(ref.tenant).cancel_window_days
        except BotError:
            return 7


class ActionComplain(Action):
    """「我要投诉」「转人工」: record a ticket, then the tenant's hotline and hours (or a call-back)."""

    def name(self) -> str:
        return "action_complain"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = str((tracker.latest_message or {}).get("text") or "")
        offer = tracker.get_slot("offer_id")
        try:
            with household_session(tracker) as (session, ref):
                ticket = complaints.record(
                    session,
                    ref.tenant.id,
                    ref.household_id,
                    tracker.sender_id,
                    text,
                    tracker.get_slot("topic"),
                    int(offer) if offer and str(offer).isascii() and str(offer).isdigit() else None,
                    now(),
                )
                number, category = ticket.id, ticket.category
                service = config_of_row(ref.tenant).service
        except BotError:
            dispatcher.utter_message(response="utter_service_error")
            return []
        card = {
            "type": "service_contact",
            "title": render(domain, "utter_card_title_service"),
            "ticket": number,
            "category": category,
            "hotline": service.hotline,
            "hours": service.hours,
        }
        recorded = "utter_complaint_recorded" if category == "complaint" else "utter_contact_recorded"
        say(dispatcher, recorded, card, ticket=number)
        if service.hotline:
            say(dispatcher, "utter_service_hotline", hotline=service.hotline, hours=service.hours or "")
        else:
            say(dispatcher, "utter_service_no_hotline")
        return []
