"""The headline: which device to upgrade and why, the yearly saving and payback, the installment
with the monthly saving set against the monthly payment, and the green points it earns."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.offering import DeviceTopicAction, Responder, make_offer, request_consent
from actions.runtime import Events, awaiting, now, render, say
from actions.tenancy import config_of
from bot.errors import NotFoundError
from bot.household import consent
from bot.store.repo import HouseholdRef
from bot.topics import upgrade


class ActionEnergySaving(DeviceTopicAction):
    """「换个一级能效的空调能省多少」: the upgrade plan from the household's own readings."""

    topic_name = "energy_saving"

    def name(self) -> str:
        return "action_energy_saving"

    @property
    def respond(self) -> Responder:
        return respond_saving


def respond_saving(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    session: Session,
    ref: HouseholdRef,
    device_type: str | None,
) -> Events:
    """Consent first; then the plan, audited as an offer before it is spoken."""
    missing = consent.missing(session, ref.household_id, upgrade.DATA_SCOPES)
    if missing:
        return request_consent(dispatcher, domain, (s.value for s in missing), "upgrade")
    try:
        plan = upgrade.plan_upgrade(session, ref.tenant.id, ref.household_id, now(), device_type)
    except NotFoundError as err:
        if err.code == "no_such_device":
            say(dispatcher, "utter_no_such_device", device_type=device_type)
        else:
            say(dispatcher, "utter_upgrade_none")
        return []
    cfg = config_of(ref)
    if plan.quote is not None and not cfg.feature_enabled("installments"):
        plan = replace(plan, quote=None, versus=None)  # the tenant offers no installments
    values = upgrade.figures(plan)
    if not plan.worth_it:
        say(dispatcher, "utter_upgrade_not_worth", **values)
        return []
    points = cfg.feature_enabled("points")
    return _offer_plan(dispatcher, tracker, domain, session, ref, plan, values, points=points)


def _sentences(plan: upgrade.UpgradePlan, points: bool = True) -> list[str]:
    why = "utter_upgrade_why" if plan.evidence.rating is not None else "utter_upgrade_why_plain"
    if plan.quote is not None:
        ask = "utter_upgrade_points" if points else "utter_upgrade_ask_installment"
        tail = ["utter_upgrade_installment", ask]
    else:
        tail = ["utter_upgrade_points_only"] if points else []
    return [why, "utter_upgrade_offer", *tail]


def _offer_plan(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    session: Session,
    ref: HouseholdRef,
    plan: upgrade.UpgradePlan,
    values: dict[str, str],
    *,
    points: bool = True,
) -> Events:
    sentences = _sentences(plan, points)
    text = "".join(render(domain, name, **values) for name in sentences)
    explanation = render(domain, "utter_explain_upgrade", **values)
    candidate = upgrade.offer_candidate(plan, text=text, explanation=explanation)
    decision = make_offer(session, ref, tracker, candidate, topic="ask_energy_saving")
    if decision.offer is None:
        say(dispatcher, "utter_upgrade_none")
        return []
    card = upgrade.saving_card(plan, decision.offer.offer_id)
    for i, name in enumerate(sentences):
        say(dispatcher, name, card if i == 0 else None, **values)
    events: Events = [
        SlotSet("offer_id", str(decision.offer.offer_id)),
        SlotSet("upgrade_sku", plan.product.sku),
    ]
    events.append(SlotSet("monthly_saving", str(plan.saving.monthly_saving)))
    if plan.quote is not None:
        events += [
            SlotSet("product", plan.product.sku),
            SlotSet("periods", str(plan.quote.installment.periods)),
            awaiting("installment"),
        ]
    return events
