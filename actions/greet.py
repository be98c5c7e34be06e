"""Greeting in the tenant's assistant persona (its own wording when its configuration overrides it)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import household_session, say
from bot.errors import BotError
from bot.tenants.config import config_of_row, wording


class ActionGreet(Action):
    """Say hello with the manufacturer's assistant name."""

    def name(self) -> str:
        return "action_greet"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            with household_session(tracker) as (_, ref):
                cfg = config_of_row(ref.tenant)
        except BotError:
            say(dispatcher, "utter_greet_anonymous")
            return []
        override = wording(cfg, cfg.wording.greeting)
        if override is not None:
            say(dispatcher, "utter_greet_tenant", greeting=override)
        else:
            say(dispatcher, "utter_greet", assistant_name=cfg.assistant_name)
        return []
