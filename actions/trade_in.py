"""Trade-in (以旧换新): the household's old unit's value by its age, plus the new unit's subsidy;
「旧冰箱换新分期」: the installment on the price less both credits, its APR first."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.offering import DeviceTopicAction, Responder, make_offer, request_consent
from actions.runtime import Events, awaiting, latest_entity, now, render, say
from actions.tenancy import config_of
from bot.errors import InputError, NotFoundError
from bot.finance.installments import is_interest_free
from bot.finance.quote import InstallmentQuote, installment_card
from bot.finance.trade_in import TradeInQuote, trade_in_card
from bot.household import consent, device_status
from bot.household.device_status import DeviceStatus
from bot.periods import zone
from bot.store.catalog import Product
from bot.store.repo import HouseholdRef
from bot.topics import trade_in
from bot.topics.aftercare import oldest
from bot.topics.catalog_choice import short_name


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
        today = now().astimezone(zone(ref.tenant.timezone)).date()
        quote, product = trade_in.quote_for_device(
            session, ref.tenant.id, device, today, tracker.get_slot("upgrade_sku")
        )
    except NotFoundError as err:
        response = "utter_no_such_device" if err.code == "no_such_device" else "utter_trade_in_unsupported"
        say(dispatcher, response, device_type=device_type)
        return []
    periods = trade_in.installment_periods(
        str((tracker.latest_message or {}).get("text") or ""), latest_entity(tracker, "periods")
    )
    if periods is not None and product is not None and config_of(ref).feature_enabled("installments"):
        return _netted(dispatcher, tracker, domain, session, ref, (quote, device, product), periods)
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


def _netted(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    session: Session,
    ref: HouseholdRef,
    trade: tuple[TradeInQuote, DeviceStatus, Product],
    periods: int,
) -> Events:
    """The installment on the new unit's price less the old unit's credit and the subsidy: the parts
    by name, then the APR (IRR on the amount financed) before the monthly payment; ask to apply."""
    quote, device, product = trade
    try:
        netted = trade_in.netted_quote(session, ref.tenant.id, quote, product, periods)
    except InputError:
        say(dispatcher, "utter_quote_unavailable", product=short_name(product), periods=periods)
        return []
    values = {**trade_in.trade_in_values(quote, device, product), **trade_in.netted_values(netted, product)}
    sentences = netted_sentences(netted)
    cand = trade_in.netted_candidate(
        netted,
        device,
        text="".join(render(domain, name, **values) for name in sentences),
        explanation=render(domain, "utter_explain_trade_in_installment", **values),
    )
    decision = make_offer(session, ref, tracker, cand, topic="ask_trade_in")
    if decision.offer is None:
        say(dispatcher, "utter_offer_unavailable")
        return []
    offer_id = str(decision.offer.offer_id)
    card = installment_card(netted, offer_id=offer_id, cancel_until=now() + config_of(ref).cancel_window)
    card["suggestions"] = [render(domain, "utter_suggest_apply"), render(domain, "utter_suggest_cost")]
    for i, name in enumerate(sentences):
        say(dispatcher, name, card if i == 0 else None, **values)
    say(dispatcher, "utter_ask_apply")
    return [
        SlotSet("offer_id", offer_id),
        SlotSet("product", product.sku),
        SlotSet("periods", str(periods)),
        awaiting("apply"),
    ]


def netted_sentences(netted: InstallmentQuote) -> list[str]:
    """The parts by name (price, credit, subsidy, principal), the APR with the monthly payment, the costs."""
    parts = "utter_trade_in_netted_down" if netted.down_payment > 0 else "utter_trade_in_netted"
    first = "utter_quote_interest_free" if is_interest_free(netted) else "utter_quote"
    return [parts, first, "utter_quote_costs"]
