"""Commitment: read-back → explicit confirmation → application *pending* (completed on the panel
or by QR, never by voice alone); cancel within the window; a repeated confirmation changes nothing."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.boundary import decline, text_of, withdrawal_doubt
from actions.runtime import Events, awaiting, household_session, latest_entity, now, render, say
from actions.tenancy import config_of
from bot.conversation.boundary import Reason
from bot.errors import BotError, NotFoundError
from bot.household import points as household_points
from bot.household import subscriptions
from bot.nlu.objects import APPLICATION
from bot.offers import applications, records
from bot.offers.applications import ApplicationError
from bot.offers.records import OfferRecord
from bot.store.repo import HouseholdRef
from bot.topics import commitment, subscription
from bot.topics.catalog_choice import to_count


def _offer(session: Session, ref: HouseholdRef, tracker: Tracker) -> OfferRecord | None:
    offer_id = to_count(tracker.get_slot("offer_id"))
    if offer_id is None:
        return None
    try:
        record = records.why(session, ref.household_id, offer_id)
    except NotFoundError:
        return None
    return record if commitment.applicable(record) else None


def _existing(session: Session, ref: HouseholdRef, offer_id: int) -> applications.ApplicationRecord | None:
    try:
        return applications.get(session, offer_id, ref.household_id)
    except NotFoundError:
        return None


_READ_BACK = {
    "installment": ("utter_read_back_installment",),
    "installment_trade_in": ("utter_read_back_installment", "utter_read_back_trade_in_parts"),
    "installment_trade_in_down": ("utter_read_back_installment", "utter_read_back_trade_in_parts_down"),
    "trade_in": ("utter_read_back_trade_in",),
    "points": ("utter_read_back_points",),
    "subscription": ("utter_read_back_subscription",),
    "purchase": ("utter_read_back_purchase",),
}
"""What is read back for each shape of offer (``commitment.read_back``), in order."""


class ActionReadBack(Action):
    """Read back seller, item, periods, monthly amount, APR and total; ask for confirmation."""

    def name(self) -> str:
        return "action_read_back"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            with household_session(tracker) as (session, ref):
                record = _offer(session, ref, tracker)
                existing = None if record is None else _existing(session, ref, record.offer_id)
        except BotError:
            say(dispatcher, "utter_service_error")
            return [awaiting(None)]
        if record is None:
            say(dispatcher, "utter_no_offer_to_apply")
            return [awaiting(None)]
        if existing is not None:
            return _report_existing(dispatcher, domain, existing, record)
        shape, values = commitment.read_back(record)
        for response in _READ_BACK[shape]:
            say(dispatcher, response, **values)
        say(dispatcher, "utter_ask_confirm")
        return [awaiting("confirm")]


class ActionStartApplication(Action):
    """After the explicit confirmation: the application, pending until completed out of band."""

    def name(self) -> str:
        return "action_start_application"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            with household_session(tracker) as (session, ref):
                record = _offer(session, ref, tracker)
                if record is None:
                    say(dispatcher, "utter_no_offer_to_apply")
                    return [awaiting(None)]
                existing = _existing(session, ref, record.offer_id)
                if existing is not None:
                    return _report_existing(dispatcher, domain, existing, record)
                window = config_of(ref).cancel_window
                app = applications.start(session, record.offer_id, ref.household_id, now(), window)
                phone = applications.phone_only(session, record.offer_id)
        except ApplicationError:
            say(dispatcher, "utter_application_expired")
            return [awaiting(None)]
        except BotError:
            say(dispatcher, "utter_service_error")
            return [awaiting(None)]
        title = render(domain, "utter_card_title_application")
        card = commitment.status_card(app, record, title, phone_only=phone)
        say(dispatcher, "utter_application_pending", card)
        return [awaiting("applied")]


def _report_existing(
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
    app: applications.ApplicationRecord,
    record: OfferRecord,
) -> Events:
    card = commitment.status_card(app, record, render(domain, "utter_card_title_application"))
    response = {
        applications.ApplicationState.PENDING: "utter_application_exists",
        applications.ApplicationState.CONFIRMED: "utter_application_confirmed_already",
    }.get(app.state, "utter_application_closed")
    say(dispatcher, response, card)
    return [awaiting(None)]


_CANCEL_REFUSED = {
    "cancel_window_closed": "utter_cancel_window_closed",
    "application_closed": "utter_application_closed",
}
"""Why a cancellation was refused → what is said (otherwise: expired)."""


class ActionCancelApplication(Action):
    """「取消刚才的申请」: cancel the latest application within its window (or drop the read-back)."""

    def name(self) -> str:
        return "action_cancel_application"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("awaiting") in ("apply", "confirm"):
            say(dispatcher, "utter_application_not_started")
            return [awaiting(None)]
        if subscription.names_subscription(text_of(tracker)):
            return _cancel_subscription(dispatcher, tracker, domain)
        doubt = withdrawal_doubt(tracker, APPLICATION)
        if doubt is not None:
            say(dispatcher, doubt)
            return []
        try:
            with household_session(tracker) as (session, ref):
                app = applications.cancel(session, None, ref.household_id, now())
                record = records.why(session, ref.household_id, app.offer_id)
                refunded = commitment.points_refunded(app, record)
                balance = household_points.balance(session, ref.household_id)
        except NotFoundError:
            say(dispatcher, "utter_cancel_nothing")
            return [awaiting(None)]
        except ApplicationError as err:
            say(dispatcher, _CANCEL_REFUSED.get(err.code, "utter_application_expired"))
            return [awaiting(None)]
        except BotError:
            say(dispatcher, "utter_service_error")
            return [awaiting(None)]
        card = commitment.status_card(app, record, render(domain, "utter_card_title_application"))
        say(dispatcher, "utter_application_cancelled", card)
        if refunded:
            say(dispatcher, "utter_points_refunded", points=refunded, balance=balance)
        return [awaiting(None)]


def _cancel_subscription(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
) -> Events:
    """「取消保养订阅」: stop the next renewal (the device's category first); the paid period runs on."""
    try:
        with household_session(tracker) as (session, ref):
            moment = now()
            row = subscriptions.cancel(
                session, ref.household_id, moment, latest_entity(tracker, "device_type")
            )
            values = subscription.cancelled_values(row, ref.tenant.timezone)
            title = render(domain, "utter_card_title_subscription")
            card = subscription.subscription_card(
                row, moment, card_type="subscription_status", title=title, suggestion=None
            )
    except NotFoundError:
        say(dispatcher, "utter_subscription_cancel_none")
        return [awaiting(None)]
    except BotError:
        say(dispatcher, "utter_service_error")
        return [awaiting(None)]
    say(dispatcher, "utter_subscription_cancelled", card, **values)
    return [awaiting(None)]


_DECLINED = {
    "consent": "utter_consent_declined",
    "upgrade": "utter_offer_declined",
    "installment": "utter_offer_declined",
    "apply": "utter_application_not_started",
    "confirm": "utter_application_not_started",
    "delete_data": "utter_delete_cancelled",
}


class ActionDecline(Action):
    """A "no" to whatever the assistant last asked; nothing is written. Nothing asked: not ours."""

    def name(self) -> str:
        return "action_decline"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        response = _DECLINED.get(str(tracker.get_slot("awaiting")))
        if response is None:
            return decline(dispatcher, tracker, Reason.NOT_AWAITED, "utter_deny_nothing")
        say(dispatcher, response)
        return [awaiting(None)]
