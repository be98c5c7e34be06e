"""Two-stage fallback: first ask to rephrase, then (still not understood) say what it can do."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.boundary import decline, decline_not_ours, unheard_reason
from actions.runtime import say
from bot.conversation.boundary import Reason
from bot.nlu.objects import asks_to_withdraw

FALLBACK_INTENT = "nlu_fallback"


def previous_intent(tracker: Tracker) -> str | None:
    """The intent of the user message before the latest one."""
    seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen += 1
            if seen == 2:
                return str((event.get("parse_data") or {}).get("intent", {}).get("name") or "") or None
    return None


class ActionFallback(Action):
    """Low NLU confidence: rephrase once; twice in a row, a short list of what it can do. With nothing
    asked and no form open the turn is not handled (the host assistant may know it): as a device
    command, a question about the world or chatter when its words say so, else not understood. A clear
    device command is handed back even while a question waits (「恢复TV」 at a read-back). An unclear
    request to withdraw something (「我不想分期了 帮我撤销」) asks which: an application or the consent."""

    def name(self) -> str:
        return "action_fallback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = str(tracker.latest_message.get("text") or "")
        if asks_to_withdraw(text):
            say(dispatcher, "utter_ask_which_withdrawal")
            return []
        response = "utter_default" if previous_intent(tracker) == FALLBACK_INTENT else "utter_ask_rephrase"
        idle = tracker.get_slot("awaiting") is None and not (tracker.active_loop or {}).get("name")
        reason = unheard_reason(text)
        if reason == Reason.DEVICE_CONTROL or (idle and reason is not None):
            return decline_not_ours(dispatcher, tracker, reason)  # a pending question stays pending
        if idle:
            return decline(dispatcher, tracker, Reason.NOT_UNDERSTOOD, response)
        say(dispatcher, response)
        return []
