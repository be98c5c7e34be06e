"""Short answers routed by what the assistant asked or talked about last.

A bare 「好的」 means what the pending question (slot ``awaiting``) asked; a bare value (「上个月呢」,
「那冰箱呢」, 「二十四期呢」) continues the current ``topic``. Both tables are here, in one place, so a
designer can see every route; each route is the same action a full question would run.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.aftercare import ActionInsurance, ActionWarranty
from actions.boundary import certain_yes, decline, sounds_like_a_command
from actions.commitment import ActionReadBack, ActionStartApplication
from actions.consent import ActionConsentGrant, ActionDeleteData
from actions.device_status import ActionDeviceStatus
from actions.energy import ActionEnergyUsage
from actions.fallback import ActionFallback
from actions.installment import ActionInstallmentQuote
from actions.points import ActionGreenPoints
from actions.runtime import say
from actions.trade_in import ActionTradeIn
from actions.upgrade import ActionEnergySaving
from bot.conversation.boundary import Reason

ON_YES: dict[str, type[Action]] = {
    "consent": ActionConsentGrant,
    "upgrade": ActionEnergySaving,
    "installment": ActionInstallmentQuote,
    "apply": ActionReadBack,
    "confirm": ActionStartApplication,
    "applied": ActionStartApplication,
    "delete_data": ActionDeleteData,
}
"""Pending question → what a yes does."""

ON_VALUE: dict[str, type[Action]] = {
    "energy_usage": ActionEnergyUsage,
    "energy_saving": ActionEnergySaving,
    "installment": ActionInstallmentQuote,
    "warranty": ActionWarranty,
    "insurance": ActionInsurance,
    "trade_in": ActionTradeIn,
    "device_status": ActionDeviceStatus,
    "points": ActionGreenPoints,
}
"""Current topic → what a bare value continues."""


class ActionAffirm(Action):
    """A yes: do what the pending question offered. Nothing pending, or a device command taken for a
    yes (「继续计时器」): not ours. A binding step (confirm, delete data) only on a certain yes, else a
    short question."""

    def name(self) -> str:
        return "action_affirm"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        pending = str(tracker.get_slot("awaiting"))
        route = ON_YES.get(pending)
        if route is None:
            return decline(dispatcher, tracker, Reason.NOT_AWAITED, "utter_decline_not_awaited")
        if sounds_like_a_command(tracker):  # the pending question stays pending
            return decline(dispatcher, tracker, Reason.DEVICE_CONTROL, "utter_decline_device_control")
        if not certain_yes(tracker, pending):
            say(dispatcher, "utter_ask_confirm_clearly")
            return []
        events: list[dict[str, Any]] = route().run(dispatcher, tracker, domain)
        return events


class ActionInform(Action):
    """A bare value: continue the current topic with it (no topic and nothing asked: not ours; no
    value heard: the fallback)."""

    def name(self) -> str:
        return "action_inform"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("awaiting") == "device_choice":  # 「主卧的」 answers 「问的是哪台？」
            return ActionEnergyUsage().run(dispatcher, tracker, domain)
        if not (tracker.latest_message or {}).get("entities"):
            return ActionFallback().run(dispatcher, tracker, domain)  # 「嗯那个」: no value heard
        route = ON_VALUE.get(str(tracker.get_slot("topic")))
        if route is None and tracker.get_slot("awaiting") is None:
            return decline(dispatcher, tracker, Reason.NOT_AWAITED, "utter_inform_without_topic")
        if route is None:
            say(dispatcher, "utter_inform_without_topic")
            return []
        events: list[dict[str, Any]] = route().run(dispatcher, tracker, domain)
        return events
