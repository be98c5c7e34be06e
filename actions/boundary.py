"""The skill's boundary: turns that are not ours are marked ``handled: false`` and declined (aloud or
in silence, as the tenant chose), and destructive or binding steps are taken only when certain."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import Events, household_session, latest_intent, say
from actions.tenancy import config_of
from bot.conversation.boundary import Reason, marker
from bot.errors import BotError
from bot.household import data_rights
from bot.nlu.chatter import is_chatter
from bot.nlu.gate import names_the_domain, shape
from bot.nlu.objects import APPLICATION, CONSENT, DEVICE, named_objects, verb_without_object

CERTAIN = 0.8
"""NLU confidence below which a destructive or binding step is asked about instead of taken."""
BINDING_AWAITS = {"confirm": APPLICATION, "applied": APPLICATION, "delete_data": CONSENT}
"""Pending questions whose yes commits something → the object that yes acts on."""

_DECLINES = {
    Reason.DEVICE_CONTROL: "utter_decline_device_control",
    Reason.OUT_OF_SCOPE: "utter_out_of_scope",
    Reason.CHITCHAT: "utter_decline_chitchat",
}
"""The short decline said for each reason a turn is not ours (when the tenant speaks declines)."""


def speaks_declines(tracker: Tracker) -> bool:
    """The tenant's ``boundary.decline`` is ``speak`` (also when the household cannot be read)."""
    try:
        with household_session(tracker) as (_, ref):
            return config_of(ref).boundary.decline == "speak"
    except BotError:
        return True


def decline(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str, response: str, **values: Any
) -> Events:
    """Mark the turn not handled; say ``response`` unless the tenant wants silence. Nothing changes."""
    if speaks_declines(tracker):
        say(dispatcher, response, marker(reason), **values)
    else:
        dispatcher.utter_message(json_message=marker(reason))
    return []


def not_ours(intent: str | None, text: str) -> str:
    """Why a device command or an out-of-scope sentence is not ours: ``device_control``, else
    ``chitchat`` for everyday chatter (:mod:`bot.nlu.chatter`), else ``out_of_scope``."""
    if intent == "device_control":
        return Reason.DEVICE_CONTROL
    return Reason.CHITCHAT if is_chatter(text) else Reason.OUT_OF_SCOPE


def unheard_reason(text: str) -> str | None:
    """Why a sentence the NLU was unsure of is not ours (a command, a question about the world,
    chatter), or None: no word of the domain decides it, so it was not understood."""
    if names_the_domain(text):
        return None
    shaped = shape(text)
    if shaped is not None:
        return not_ours(shaped, text)
    return Reason.CHITCHAT if is_chatter(text) else None


def decline_not_ours(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> Events:
    """Hand the turn back for ``reason`` with its own short decline (or silence)."""
    return decline(dispatcher, tracker, reason, _DECLINES[reason])


def confidence(tracker: Tracker) -> float:
    """The NLU's confidence in the latest message's intent (0 when unknown)."""
    value = ((tracker.latest_message or {}).get("intent") or {}).get("confidence")
    return float(value) if isinstance(value, int | float) else 0.0


def text_of(tracker: Tracker) -> str:
    """The latest user message as the NLU saw it."""
    return str((tracker.latest_message or {}).get("text") or "")


def sounds_like_a_command(tracker: Tracker) -> bool:
    """The latest message names a device or media command (「继续计时器」, 「下一曲」) whatever its intent."""
    return DEVICE in named_objects(text_of(tracker))


def certain_yes(tracker: Tracker, pending: str) -> bool:
    """A yes that may commit what ``pending`` asked: confident, and naming no other object."""
    own = BINDING_AWAITS.get(pending)
    if own is None:
        return True
    text = text_of(tracker)
    if pending == "delete_data" and data_rights.confirms_deletion(text):
        return True  # the explicit phrase (确认删除) is surer than the classifier's score
    others = named_objects(text) - {own}
    return confidence(tracker) >= CERTAIN and not others


def withdrawal_doubt(tracker: Tracker, own: str) -> str | None:
    """None when a withdrawal of ``own`` (consent or application) may go ahead, else what to ask."""
    text = text_of(tracker)
    named = named_objects(text) - {DEVICE}
    other = APPLICATION if own == CONSENT else CONSENT
    if other in named or own not in named or (own == APPLICATION and verb_without_object(text)):
        return "utter_ask_which_withdrawal" if named or verb_without_object(text) else _clearly(own)
    if confidence(tracker) < CERTAIN:
        return _clearly(own)
    return None


def _clearly(own: str) -> str:
    return "utter_ask_revoke_clearly" if own == CONSENT else "utter_ask_cancel_clearly"


class ActionNotOurs(Action):
    """A device command, chatter or a question about the world: the host assistant's turn, with the
    reason. The pending question stays pending."""

    def name(self) -> str:
        return "action_not_ours"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return decline_not_ours(dispatcher, tracker, not_ours(latest_intent(tracker), text_of(tracker)))
