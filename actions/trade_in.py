"""Trade-in (以旧换新): the household's old unit's value by its age, plus the new unit's subsidy."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.offering import DeviceTopicAction, Responder, make_offer, request_consent
from actions.runtime import Events, awaiting, now, render, say
from bot.errors import NotFoundError
from bot.finance.trade_in import trade_in_card
from bot.household import consent, device_status
from bot.store.repo import HouseholdRef
from bot.topics import trade_in
from bot.topics.aftercare import oldest


class ActionTradeIn(DeviceTopicAction):
    """「旧冰箱能以旧换新吗」: value of the oldest unit of the category and the subsidy on a new one."""

    topic_name = "trade_in"
    feature = "trade_in"

    def name(self) -> str:
        return "action_trade_in"

    @property
    def respond(self) -> Responder:
        return respond_trade_in


def respond_trade_in(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    session: Session,
    ref: HouseholdRef,
    device_type: str | None,
) -> Events:
    """Consent for device usage (the age) first; then the audited trade-in quote."""
    if device_type is None:
        say(dispatcher, "utter_ask_trade_in_device")
        return []
    missing = consent.missing(session, ref.household_id, trade_in.TRADE_IN_SCOPES)
    if missing:
        return request_consent(dispatcher, domain, (s.value for s in missing), "trade_in")
    try:
        device = oldest(device_status.statuses(session, ref.household_id, now(), device_type))
        quote, product = trade_in.quote_for_device(
            session, ref.tenant.id, device, tracker.get_slot("upgrade_sku")
        )
    except NotFoundError as err:
        response = "utter_no_such_device" if err.code == "no_such_device" else "utter_trade_in_unsupported"
        say(dispatcher, response, device_type=device_type)
        return []
    values = trade_in.trade_in_values(quote, device, product)
    sentences = [
        "utter_trade_in_quote",
        "utter_trade_in_subsidy" if quote.subsidy > 0 else "utter_trade_in_no_subsidy",
    ]
    cand = trade_in.trade_in_candidate(
        quote,
        device,
        seller=ref.tenant.name,
        item=render(domain, "utter_card_title_trade_in", device_type=device_type),
        text="".join(render(domain, name, **values) for name in sentences),
        explanation=render(domain, "utter_explain_trade_in", **values),
    )
    decision = make_offer(session, ref, tracker, cand, topic="ask_trade_in")
    if decision.offer is None:
        say(dispatcher, "utter_offer_unavailable")
        return []
    card = trade_in_card(quote, offer_id=str(decision.offer.offer_id))
    for i, name in enumerate(sentences):
        say(dispatcher, name, card if i == 0 else None, **values)
    say(dispatcher, "utter_ask_apply")
    return [SlotSet("offer_id", str(decision.offer.offer_id)), awaiting("apply")]
