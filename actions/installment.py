"""Installment quote form: product (or category → product choice) and periods; the quote states
the APR before the monthly figure, then total cost, fees and lender; follow-ups answered from it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlmodel import Session

from actions.offering import make_offer
from actions.runtime import Events, awaiting, household_session, latest_entity, now, render, say, topic
from actions.tenancy import config_of, decline_feature, feature_off
from actions.trade_in import netted_sentences
from bot.errors import BotError, InputError, NotFoundError
from bot.finance.catalog import quote_for_sku
from bot.finance.installments import is_interest_free
from bot.finance.quote import NO_DEDUCTIONS, Deductions, InstallmentQuote, installment_card
from bot.household import consent
from bot.offers import records
from bot.store.catalog import Product
from bot.store.repo import HouseholdRef
from bot.topics import installment, trade_in
from bot.topics.catalog_choice import (
    MAX_OPTIONS,
    catalog_of,
    choice_card,
    installment_options,
    periods_available,
    resolve,
    short_name,
    to_amount,
    to_count,
)
from bot.topics.upgrade import DATA_SCOPES


class ValidateInstallmentForm(FormValidationAction):
    """Fill ``product`` from a SKU, a category plus brand or price, and check ``periods``."""

    def name(self) -> str:
        return "validate_installment_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """None when the tenant offers no installments: the form ends and the quote action declines."""
        if feature_off(tracker, "installments") is not None:
            return []
        slots: list[str] = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        return slots

    async def extract_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        said = {k: latest_entity(tracker, k) for k in ("product", "brand", "amount", "device_type")}
        if not any(said.values()):
            return {}
        try:
            with household_session(tracker) as (session, ref):
                catalog = catalog_of(session, ref.tenant.id)
        except BotError:
            return {}
        return _extract(catalog, said, tracker)

    def validate_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"product": None}
        try:
            with household_session(tracker) as (session, ref):
                product = installment.product_of(session, ref.tenant.id, str(value))
                choices = periods_available(session, ref.tenant.id, product)
        except NotFoundError:
            say(dispatcher, "utter_product_unknown")
            return {"product": None}
        except BotError:
            say(dispatcher, "utter_service_error")
            return {"product": None}
        if not choices:
            say(dispatcher, "utter_product_no_installment", product=short_name(product))
            return {"product": None}
        return {"product": product.sku}

    def validate_periods(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        periods = to_count(value)
        sku = tracker.get_slot("product")
        if periods is None:
            return {"periods": None}
        if sku is None:
            return {"periods": str(periods)}
        try:
            with household_session(tracker) as (session, ref):
                product = installment.product_of(session, ref.tenant.id, str(sku))
                choices = periods_available(session, ref.tenant.id, product)
        except BotError:
            return {"periods": str(periods)}
        if periods not in choices:
            spoken = installment.spoken_list(str(n) for n in choices)
            say(
                dispatcher,
                "utter_periods_unavailable",
                product=short_name(product),
                periods=periods,
                choices=spoken,
            )
            return {"periods": None}
        return {"periods": str(periods)}


def _extract(catalog: list[Product], said: dict[str, str | None], tracker: Tracker) -> dict[str, Any]:
    """Slot updates from what was said: a resolved product, or a reset when the category changed."""
    by_sku = {p.sku: p for p in catalog}
    current = tracker.get_slot("product")
    current_category = by_sku[current].category if current in by_sku else None
    category = said["device_type"] or current_category or tracker.get_slot("device_type")
    amount = to_amount(said["amount"]) if (category or said["brand"]) else None
    choice = resolve(catalog, sku=said["product"], category=category, brand=said["brand"], amount=amount)
    keep_periods = latest_entity(tracker, "periods") is not None
    if choice.chosen is not None:
        out: dict[str, Any] = {"product": choice.chosen.sku, "device_type": choice.chosen.category}
        if current and choice.chosen.sku != current and not keep_periods:
            out["periods"] = None
        return out
    if (said["device_type"] and said["device_type"] != current_category) or said["brand"]:
        out = {"product": None, "device_type": category, "brand": said["brand"]}
        if not keep_periods:
            out["periods"] = None
        return out
    return {}


class ActionAskProduct(Action):
    """Ask which product: the category first, then the options of the category (with a card)."""

    def name(self) -> str:
        return "action_ask_product"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        category, brand = tracker.get_slot("device_type"), tracker.get_slot("brand")
        if not category and not brand:
            say(dispatcher, "utter_ask_product_category")
            return []
        try:
            with household_session(tracker) as (session, ref):
                options = installment_options(session, ref.tenant.id, category, brand)
        except BotError:
            say(dispatcher, "utter_service_error")
            return []
        subject = category or brand
        if not options:
            say(dispatcher, "utter_no_installment_products", subject=subject)
            return [SlotSet("device_type", None), SlotSet("brand", None)]
        spoken = installment.spoken_products(options, MAX_OPTIONS - 1)
        say(
            dispatcher,
            "utter_ask_product_options",
            choice_card(options, category),
            subject=subject,
            options=spoken,
        )
        return []


class ActionAskPeriods(Action):
    """Ask how many periods, naming the counts the product's plans offer."""

    def name(self) -> str:
        return "action_ask_periods"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            with household_session(tracker) as (session, ref):
                product = installment.product_of(session, ref.tenant.id, str(tracker.get_slot("product")))
                choices = periods_available(session, ref.tenant.id, product)
        except BotError:
            say(dispatcher, "utter_service_error")
            return []
        spoken = installment.spoken_list(str(n) for n in choices)
        say(dispatcher, "utter_ask_periods", product=short_name(product), choices=spoken)
        return []


class ActionInstallmentQuote(Action):
    """The audited quote: APR first, then monthly, total, fees, lender; then ask to apply."""

    def name(self) -> str:
        return "action_installment_quote"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        sku, periods = tracker.get_slot("product"), to_count(tracker.get_slot("periods"))
        events: Events = [topic("installment"), awaiting(None)]
        try:
            with household_session(tracker) as (session, ref):
                cfg = config_of(ref)
                if not cfg.feature_enabled("installments"):
                    decline_feature(dispatcher, domain, cfg, "installments")
                    return [*events, SlotSet("product", None), SlotSet("periods", None)]
                if not sku or periods is None:
                    say(dispatcher, "utter_cost_details_no_quote")
                    return events
                return events + quote_turn(dispatcher, tracker, domain, session, ref, str(sku), periods)
        except BotError:
            say(dispatcher, "utter_service_error")
            return events


def quote_turn(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    session: Session,
    ref: HouseholdRef,
    sku: str,
    periods: int,
) -> Events:
    """Quote ``sku`` over ``periods``, audit the offer, say it and ask whether to apply."""
    product = installment.product_of(session, ref.tenant.id, sku)
    try:
        quote = quote_for_sku(
            session, ref.tenant.id, sku, periods, deductions=_carried_trade_in(session, ref, tracker, sku)
        )
    except InputError:
        say(dispatcher, "utter_quote_unavailable", product=short_name(product), periods=periods)
        return [SlotSet("periods", None)]
    saving = _paired_saving(session, ref, tracker, sku)
    values = installment.quote_values(quote, product)
    if saving is not None:
        values["monthly_saving"] = str(saving)
    scopes = DATA_SCOPES if saving is not None else frozenset()
    sentences = _sentences(quote, saving)
    if quote.deductions.present:  # still the trade-in: the parts by name, then the APR
        values |= trade_in.netted_values(quote, product)
        sentences = netted_sentences(quote) + sentences[2:]
        scopes = scopes | trade_in.TRADE_IN_SCOPES
    text = "".join(render(domain, name, **values) for name in sentences)
    explanation = render(domain, "utter_explain_installment", **values)
    cand = installment.candidate(
        quote, text=text, explanation=explanation, monthly_saving=saving, data_scopes=scopes
    )
    decision = make_offer(session, ref, tracker, cand, topic="ask_installment")
    if decision.offer is None:
        say(dispatcher, "utter_quote_unavailable", product=values["product"], periods=periods)
        return []
    card = installment_card(
        quote,
        offer_id=str(decision.offer.offer_id),
        monthly_saving=saving,
        cancel_until=now() + config_of(ref).cancel_window,
    )
    card["suggestions"] = [render(domain, "utter_suggest_apply"), render(domain, "utter_suggest_cost")]
    for i, name in enumerate(sentences):
        say(dispatcher, name, card if i == 0 else None, **values)
    say(dispatcher, "utter_ask_apply")
    return [
        SlotSet("offer_id", str(decision.offer.offer_id)),
        SlotSet("periods", str(periods)),
        awaiting("apply"),
    ]


def _sentences(quote: InstallmentQuote, saving: Decimal | None) -> list[str]:
    first = "utter_quote_interest_free" if is_interest_free(quote) else "utter_quote"
    costs = "utter_quote_costs_down" if quote.down_payment > 0 else "utter_quote_costs"
    return [first, costs] + (["utter_quote_saving"] if saving is not None else [])


def _carried_trade_in(session: Session, ref: HouseholdRef, tracker: Tracker, sku: str) -> Deductions:
    """The trade-in credits of the conversation's netted quote, when this quote is for its product."""
    offer_id = to_count(tracker.get_slot("offer_id"))
    if offer_id is None:
        return NO_DEDUCTIONS
    try:
        record = records.why(session, ref.household_id, offer_id)
    except NotFoundError:
        return NO_DEDUCTIONS
    return trade_in.carried_deductions(record.terms, sku) if record.kind == "installment" else NO_DEDUCTIONS


def _paired_saving(session: Session, ref: HouseholdRef, tracker: Tracker, sku: str) -> Decimal | None:
    """The upgrade's monthly saving, when this is the upgrade's product and consent still holds."""
    if tracker.get_slot("upgrade_sku") != sku or not tracker.get_slot("monthly_saving"):
        return None
    if consent.missing(session, ref.household_id, DATA_SCOPES):
        return None
    return to_amount(tracker.get_slot("monthly_saving"))


class ActionCostDetails(Action):
    """APR, fees, total and lender of the current quote; mid-form, the APR of each period count."""

    def name(self) -> str:
        return "action_cost_details"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            with household_session(tracker) as (session, ref):
                self._answer(dispatcher, tracker, session, ref)
        except BotError:
            say(dispatcher, "utter_service_error")
        return []

    @staticmethod
    def _answer(
        dispatcher: CollectingDispatcher, tracker: Tracker, session: Session, ref: HouseholdRef
    ) -> None:
        sku = tracker.get_slot("product")
        if sku and tracker.active_loop_name == "installment_form":
            product = installment.product_of(session, ref.tenant.id, str(sku))
            choices = periods_available(session, ref.tenant.id, product)
            options = installment.apr_by_periods(session, ref.tenant.id, product.sku, choices)
            say(dispatcher, "utter_cost_details_options", product=short_name(product), options=options)
            return
        terms = _current_terms(session, ref, tracker)
        if terms is None:
            say(dispatcher, "utter_cost_details_no_quote")
            return
        values = installment.terms_values(terms)
        free = is_interest_free(terms)
        say(dispatcher, "utter_cost_details_free" if free else "utter_cost_details", **values)


def _current_terms(session: Session, ref: HouseholdRef, tracker: Tracker) -> dict[str, Any] | None:
    """Terms of the conversation's current installment: its audited quote, else the upgrade's."""
    offer_id = to_count(tracker.get_slot("offer_id"))
    if offer_id is not None:
        try:
            record = records.why(session, ref.household_id, offer_id)
        except NotFoundError:
            record = None
        if record is not None and record.kind == "installment":
            return dict(record.terms)
    sku, periods = tracker.get_slot("product"), to_count(tracker.get_slot("periods"))
    if tracker.active_loop_name == "installment_form" or not sku or periods is None:
        return None
    try:
        quote = quote_for_sku(session, ref.tenant.id, str(sku), periods)
    except InputError:
        return None
    return installment.quote_terms(quote)
