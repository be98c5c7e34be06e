"""Consent by voice: grant (then resume what needed it), withdraw, and delete collected data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.aftercare import respond_warranty
from actions.boundary import withdrawal_doubt
from actions.runtime import Events, awaiting, household_session, now, render, say
from actions.trade_in import respond_trade_in
from actions.upgrade import respond_saving
from bot.errors import BotError
from bot.household import consent, data_rights
from bot.nlu.objects import CONSENT
from bot.store.models import ConsentScope
from bot.store.repo import HouseholdRef

Resume = Callable[[CollectingDispatcher, Tracker, dict[str, Any], Session, HouseholdRef, str | None], Events]
_RESUME: dict[str, Resume] = {
    "upgrade": respond_saving,
    "warranty": respond_warranty,
    "trade_in": respond_trade_in,
}
_CLEAR: Events = [awaiting(None), SlotSet("resume", None), SlotSet("consent_scopes", None)]


def _scopes(tracker: Tracker, pending: bool) -> list[str]:
    """The scopes asked for (when answering a request), else those named, else all of them."""
    asked = tracker.get_slot("consent_scopes") if pending else None
    named = data_rights.scopes_mentioned(tracker.latest_message.get("text") or "")
    return sorted(asked or named or (s.value for s in ConsentScope))


def spoken_scopes(domain: dict[str, Any], scopes: list[str]) -> str:
    """「用电数据和设备使用数据」 from the domain's scope names."""
    names = [render(domain, f"utter_scope_{s}") for s in scopes]
    return render(domain, "utter_scope_join").join(names)


class ActionConsentGrant(Action):
    """Record a grant (voice channel, current notice) and resume the flow that asked for it."""

    def name(self) -> str:
        return "action_consent_grant"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        pending = tracker.get_slot("awaiting") == "consent"
        scopes = _scopes(tracker, pending)
        resume = _RESUME.get(str(tracker.get_slot("resume"))) if pending else None
        events = list(_CLEAR)
        try:
            with household_session(tracker) as (session, ref):
                # A grant already in force (e.g. just tapped on the panel card) is not written twice.
                for scope in sorted(consent.missing(session, ref.household_id, scopes)):
                    consent.grant(
                        session,
                        ref.household_id,
                        scope,
                        channel="voice",
                        notice_version=consent.NOTICE_VERSION,
                        now=now(),
                    )
                say(dispatcher, "utter_consent_granted", data=spoken_scopes(domain, scopes))
                if resume is not None:
                    events += resume(
                        dispatcher, tracker, domain, session, ref, tracker.get_slot("device_type")
                    )
        except BotError:
            say(dispatcher, "utter_service_error")
        return events


class ActionConsentRevoke(Action):
    """Withdraw at once; a deletion request (把我的数据删掉) is confirmed first, being irreversible. A
    sentence about an application (「我不想分期了 帮我撤销」), or an unsure one, gets a question instead."""

    def name(self) -> str:
        return "action_consent_revoke"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("awaiting") == "delete_data" and data_rights.confirms_deletion(text):
            return ActionDeleteData().run(dispatcher, tracker, domain)  # 「确认删除」 answers the question
        doubt = withdrawal_doubt(tracker, CONSENT)
        if doubt is not None:
            say(dispatcher, doubt)
            return []
        if data_rights.asks_for_deletion(text):
            say(dispatcher, "utter_ask_delete_data")
            return [awaiting("delete_data")]
        scopes = _scopes(tracker, pending=False)
        try:
            with household_session(tracker) as (session, ref):
                for scope in scopes:
                    consent.withdraw(
                        session,
                        ref.household_id,
                        scope,
                        channel="voice",
                        notice_version=consent.NOTICE_VERSION,
                        now=now(),
                    )
        except BotError:
            say(dispatcher, "utter_service_error")
            return list(_CLEAR)
        say(dispatcher, "utter_consent_revoked", data=spoken_scopes(domain, scopes))
        return list(_CLEAR)


class ActionDeleteData(Action):
    """After an explicit confirmation (「确认删除」, not a bare 「嗯」): withdraw everything and erase
    what was said and measured; the card tells the gateway to erase Rasa's trackers after the turn."""

    def name(self) -> str:
        return "action_delete_data"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if not data_rights.confirms_deletion(tracker.latest_message.get("text") or ""):
            say(dispatcher, "utter_ask_delete_data_explicit")
            return [awaiting("delete_data")]
        try:
            with household_session(tracker) as (session, ref):
                erased = data_rights.erase_device_data(
                    session,
                    ref.household_id,
                    notice_version=consent.NOTICE_VERSION,
                    now=now(),
                    channel="voice",
                )
        except BotError:
            say(dispatcher, "utter_service_error")
            return list(_CLEAR)
        card = {"type": data_rights.ERASED_CARD, "title": render(domain, "utter_card_title_data_erased")}
        say(dispatcher, "utter_data_deleted", card, readings=erased.readings, faults=erased.faults)
        return list(_CLEAR)
