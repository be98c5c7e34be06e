"""Energy questions: how much a device category or the whole home used, what it cost, the biggest
consumer; then, with consent and offers allowed, at most one relevant upgrade suggestion."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.offering import make_offer, proactive_blocked
from actions.runtime import (
    Events,
    awaiting,
    household_session,
    latest_entity,
    latest_intent,
    now,
    render,
    say,
    topic,
)
from bot.errors import BotError, NotFoundError
from bot.household import consent
from bot.store.repo import HouseholdRef
from bot.topics import energy, upgrade

_DEFAULT_PERIOD = "this_month"


class ActionEnergyUsage(Action):
    """Answer 「我家空调这个月用了多少电」 from the household's own readings, with an energy card."""

    def name(self) -> str:
        return "action_energy_usage"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        device_type = latest_entity(tracker, "device_type")
        if device_type is None and latest_intent(tracker) == "inform":
            device_type = tracker.get_slot("device_type")  # 「上个月呢」 continues the last question
        period = latest_entity(tracker, "time_period") or tracker.get_slot("time_period") or _DEFAULT_PERIOD
        events: Events = [SlotSet("device_type", device_type), SlotSet("time_period", period)]
        events += [topic("energy_usage"), awaiting(None)]
        try:
            with household_session(tracker) as (session, ref):
                result = energy.usage(session, ref.tenant, ref.household_id, device_type, period, now())
                self._utter(dispatcher, session, ref, result)
                if result.has_data:
                    events += suggest_upgrade(dispatcher, tracker, domain, session, ref, device_type)
        except NotFoundError:
            dispatcher.utter_message(response="utter_no_such_device", device_type=device_type)
        except BotError:
            dispatcher.utter_message(response="utter_service_error")
        return events

    @staticmethod
    def _utter(
        dispatcher: CollectingDispatcher, session: Session, ref: HouseholdRef, result: energy.EnergyUsage
    ) -> None:
        if not result.has_data:
            if result.device_type:
                say(
                    dispatcher,
                    "utter_energy_usage_no_data",
                    period_label=result.period_label,
                    device_type=result.device_type,
                )
            else:
                say(dispatcher, "utter_energy_usage_no_data_household", period_label=result.period_label)
            return
        values = {
            "period_label": result.period_label,
            "kwh": energy.spoken_kwh(result.kwh),
            "cost": str(result.cost),
        }
        card = energy.usage_card(result)
        if result.device_type:
            say(dispatcher, "utter_energy_usage_device", card, device_type=result.device_type, **values)
            return
        say(dispatcher, "utter_energy_usage_household", card, **values)
        top = energy.biggest_consumer(session, ref.household_id, ref.tenant.timezone, result.period, now())
        if top is not None:
            share = energy.spoken_share(top.kwh, result.kwh)
            say(
                dispatcher,
                "utter_energy_biggest",
                device=top.name,
                kwh=energy.spoken_kwh(top.kwh),
                share=share,
            )


def suggest_upgrade(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    session: Session,
    ref: HouseholdRef,
    device_type: str | None,
) -> Events:
    """At most one proactive upgrade tip, only with consent, offers allowed and caps not reached."""
    if consent.missing(session, ref.household_id, upgrade.DATA_SCOPES):
        return []
    if proactive_blocked(session, ref, tracker, topic="ask_energy_usage"):
        return []  # stop-offers, a cap or quiet hours: the plan (~0.1 s) would be wasted
    try:
        plan = upgrade.plan_upgrade(session, ref.tenant.id, ref.household_id, now(), device_type)
    except NotFoundError:
        return []
    if not plan.worth_it:
        return []
    values = upgrade.figures(plan)
    candidate = upgrade.offer_candidate(
        plan,
        text=render(domain, "utter_energy_tip", **values),
        explanation=render(domain, "utter_explain_upgrade", **values),
    )
    decision = make_offer(session, ref, tracker, candidate, topic="ask_energy_usage", proactive=True)
    if decision.offer is None:
        return []
    say(dispatcher, "utter_energy_tip", **values)
    return [awaiting("upgrade"), SlotSet("offer_id", str(decision.offer.offer_id))]
