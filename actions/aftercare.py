"""Extended warranty (from the device's age and faults, with consent), the maintenance subscription
when no warranty fits, and the insurance hand-off (explained, never sold by voice)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.offering import DeviceTopicAction, Responder, make_offer, request_consent
from actions.runtime import Events, awaiting, entity_or_slot, household_session, now, render, say, topic
from actions.tenancy import config_of, decline_feature
from bot.errors import BotError, NotFoundError
from bot.finance.aftercare import insurance_card, insurance_handoffs, warranty_card
from bot.finance.catalog import insurance_products
from bot.household import consent, device_status
from bot.store.repo import HouseholdRef
from bot.tenants.config import partner_handoffs
from bot.topics import aftercare

_REFUSALS = {
    "too_old": "utter_warranty_too_old",
    "too_many_faults": "utter_warranty_too_many_faults",
}


class ActionWarranty(DeviceTopicAction):
    """「给扫地机器人买个延保」: the plan the device qualifies for, or a maintenance subscription."""

    topic_name = "warranty"
    feature = "warranty"

    def name(self) -> str:
        return "action_warranty"

    @property
    def respond(self) -> Responder:
        return respond_warranty


def respond_warranty(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    session: Session,
    ref: HouseholdRef,
    device_type: str | None,
) -> Events:
    """Consent for device usage first; then the cheapest eligible plan, audited before it is said."""
    if device_type is None:
        say(dispatcher, "utter_ask_warranty_device")
        return []
    missing = consent.missing(session, ref.household_id, aftercare.WARRANTY_SCOPES)
    if missing:
        return request_consent(dispatcher, domain, (s.value for s in missing), "warranty")
    try:
        device = aftercare.oldest(device_status.statuses(session, ref.household_id, now(), device_type))
    except NotFoundError:
        say(dispatcher, "utter_no_such_device", device_type=device_type)
        return []
    outcome = aftercare.warranty_for(session, ref.tenant.id, device)
    values = aftercare.device_values(device)
    if outcome.quote is None:
        say(dispatcher, _REFUSALS.get(outcome.refusal or "", "utter_warranty_no_plan"), **values)
        return offer_subscription(dispatcher, tracker, domain, session, ref, device_type)
    values.update(aftercare.warranty_values(outcome.quote))
    cand = aftercare.warranty_candidate(
        outcome.quote,
        device,
        text=render(domain, "utter_warranty_offer", **values),
        explanation=render(domain, "utter_explain_warranty", **values),
    )
    decision = make_offer(session, ref, tracker, cand, topic="ask_warranty")
    if decision.offer is None:
        say(dispatcher, "utter_offer_unavailable")
        return []
    say(
        dispatcher,
        "utter_warranty_offer",
        warranty_card(outcome.quote, offer_id=str(decision.offer.offer_id)),
        **values,
    )
    say(dispatcher, "utter_ask_apply")
    return [SlotSet("offer_id", str(decision.offer.offer_id)), awaiting("apply")]


def offer_subscription(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    session: Session,
    ref: HouseholdRef,
    device_type: str,
) -> Events:
    """The maintenance subscription for the category (or the whole home), if the catalog has one."""
    terms = aftercare.subscription_for(session, ref.tenant.id, device_type)
    if terms is None:
        return []
    values = {"name": terms.name, "price": str(terms.price)}
    cand = aftercare.subscription_candidate(
        terms,
        seller=ref.tenant.name,
        text=render(domain, "utter_subscription_offer", **values),
        explanation=render(domain, "utter_explain_subscription", device_type=device_type, **values),
    )
    decision = make_offer(session, ref, tracker, cand, topic="ask_warranty")
    if decision.offer is None:
        return []
    card = aftercare.subscription_card(terms, decision.offer.offer_id)
    say(dispatcher, "utter_subscription_offer", card, **values)
    say(dispatcher, "utter_ask_apply")
    return [SlotSet("offer_id", str(decision.offer.offer_id)), awaiting("apply")]


class ActionInsurance(Action):
    """Explain the licensed insurer's product and hand off to its page; no premium by voice."""

    def name(self) -> str:
        return "action_insurance"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        device_type = entity_or_slot(tracker, "device_type")
        events: Events = [topic("insurance"), awaiting(None), SlotSet("device_type", device_type)]
        if device_type is None:
            say(dispatcher, "utter_ask_insurance_device")
            return events
        try:
            with household_session(tracker) as (session, ref):
                cfg = config_of(ref)
                if not cfg.feature_enabled("insurance"):
                    decline_feature(dispatcher, domain, cfg, "insurance")
                    return events
                products = insurance_products(session, ref.tenant.id)
                handoffs = partner_handoffs(cfg, insurance_handoffs(products, device_type))
                if not handoffs:
                    say(dispatcher, "utter_insurance_none", device_type=device_type)
                    return events
                handoff = handoffs[0]
                values = {"name": handoff.name, "insurer": handoff.insurer}
                cand = aftercare.insurance_candidate(
                    handoff,
                    text=render(domain, "utter_insurance_handoff", **values),
                    explanation=render(domain, "utter_explain_insurance", device_type=device_type, **values),
                )
                decision = make_offer(session, ref, tracker, cand, topic="ask_insurance")
        except BotError:
            say(dispatcher, "utter_service_error")
            return events
        if decision.offer is None:
            say(dispatcher, "utter_offer_unavailable")
            return events
        card = {**insurance_card(handoff), "offer_id": str(decision.offer.offer_id)}
        say(dispatcher, "utter_insurance_handoff", card, **values)
        return [*events, SlotSet("offer_id", str(decision.offer.offer_id))]
