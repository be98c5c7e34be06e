"""Greeting in the tenant's assistant persona."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import household_session, say
from bot.errors import BotError


class ActionGreet(Action):
    """Say hello with the manufacturer's assistant name."""

    def name(self) -> str:
        return "action_greet"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            with household_session(tracker) as (_, ref):
                name = ref.tenant.assistant_name
        except BotError:
            say(dispatcher, "utter_greet_anonymous")
            return []
        say(dispatcher, "utter_greet", assistant_name=name)
        return []
