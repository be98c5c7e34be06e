"""「我的申请怎么样了」「分期批了吗」: where the household's latest application stands, on any device."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import household_session, now, render, say
from bot.errors import BotError
from bot.offers import applications, records
from bot.topics import application_status, commitment


class ActionApplicationStatus(Action):
    """Answer from the application's current state (a partner's decision included), with its card."""

    def name(self) -> str:
        return "action_application_status"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        card = None
        try:
            with household_session(tracker) as (session, ref):
                found = application_status.answer(session, ref.household_id, now())
                if found.offer_id is not None:
                    app = applications.get(session, found.offer_id, ref.household_id)
                    record = records.why(session, ref.household_id, found.offer_id)
                    title = render(domain, "utter_card_title_application")
                    card = commitment.status_card(app, record, title, phone_only=found.phone_only)
        except BotError:
            say(dispatcher, "utter_service_error")
            return []
        say(dispatcher, found.response, card, **found.values)
        if found.other_pending:
            say(dispatcher, "utter_status_more_pending", count=found.other_pending)
        return []
