"""Energy questions: how much a device category or the whole home used, what it cost, the biggest
consumer; then, with consent and offers allowed, at most one relevant upgrade suggestion."""

from __future__ import annotations

from collections.abc import Sequence
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
from bot.energy.usage import Coverage
from bot.errors import BotError, NotFoundError
from bot.household import consent
from bot.household.devices import Pick, Selection, room_choices, select_devices
from bot.periods import SAME_PERIOD_LAST_YEAR, Period, is_time_period, resolve
from bot.store.models import Device
from bot.store.repo import HouseholdRef
from bot.topics import energy, upgrade
from bot.topics.installment import spoken_list

_DEFAULT_PERIOD = "this_month"


class ActionEnergyUsage(Action):
    """Answer 「我家空调这个月用了多少电」 for the period and devices asked, from the household's own
    readings, with an energy card; comparisons (比上个月, 比去年同期) and the biggest consumers."""

    def name(self) -> str:
        return "action_energy_usage"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = str((tracker.latest_message or {}).get("text") or "")
        continuing = latest_intent(tracker) == "inform"
        device_type = latest_entity(tracker, "device_type")
        if device_type is None and continuing:
            device_type = tracker.get_slot("device_type")  # 「上个月呢」 continues the last question
        mentions = _period_mentions(tracker)
        default = (tracker.get_slot("time_period") if continuing else None) or _DEFAULT_PERIOD
        asked = energy.asked_periods(text, mentions, str(default))
        events: Events = [SlotSet("device_type", device_type), SlotSet("time_period", asked.period)]
        events += [topic("energy_usage"), awaiting(None)]
        try:
            with household_session(tracker) as (session, ref):
                devices = energy.household_devices(session, ref.household_id)
                chosen = select_devices(devices, text, device_type)
                if chosen.pick in (Pick.AMBIGUOUS, Pick.NONE):
                    return events[:-1] + _which_device(dispatcher, domain, chosen, devices, device_type)
                answered = _answer(dispatcher, session, ref, chosen, device_type, asked, text)
                if answered is not None and answered.has_data and asked.versus is None:
                    events += suggest_upgrade(dispatcher, tracker, domain, session, ref, device_type)
        except BotError:
            dispatcher.utter_message(response="utter_service_error")
        return events


def _period_mentions(tracker: Tracker) -> list[tuple[str, int]]:
    """(time_period value, start) of the latest message, valid values only, in order."""
    entities = (tracker.latest_message or {}).get("entities") or []
    found = {
        (str(e.get("value")), int(e.get("start") or 0))
        for e in entities
        if e.get("entity") == "time_period"
        and (is_time_period(str(e.get("value"))) or e.get("value") == SAME_PERIOD_LAST_YEAR)
    }
    return sorted(found, key=lambda m: m[1])


def _which_device(
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
    chosen: Selection,
    devices: list[Device],
    device_type: str | None,
) -> Events:
    """Several devices match a question about one (ask which), or none in the room said."""
    kind = device_type or render(domain, "utter_word_appliance")
    if chosen.pick is Pick.NONE:
        if device_type is None or not any(d.category == device_type for d in devices):
            dispatcher.utter_message(response="utter_no_such_device", device_type=kind)
            return []
        same = [d for d in devices if d.category == device_type]
        say(dispatcher, "utter_no_device_in_room", room=chosen.said, device_type=kind, rooms=_rooms(same))
        return []
    choices = room_choices(chosen.devices)
    title = render(domain, "utter_card_title_device_choice", device_type=kind)
    card = {"type": "device_choice", "title": title, "options": choices, "suggestions": choices}
    say(
        dispatcher,
        "utter_ask_which_device",
        card,
        count=len(chosen.devices),
        device_type=kind,
        rooms=_rooms(chosen.devices),
    )
    return [awaiting("device_choice")]


def _rooms(devices: Sequence[Device]) -> str:
    return spoken_list(dict.fromkeys(d.room for d in devices))


def _answer(
    dispatcher: CollectingDispatcher,
    session: Session,
    ref: HouseholdRef,
    chosen: Selection,
    device_type: str | None,
    asked: energy.Asked,
    text: str,
) -> energy.EnergyUsage | None:
    """Say the use (or the comparison) for the period asked; None when the readings do not cover it."""
    tz = ref.tenant.timezone
    covered = energy.data_coverage(session, ref.household_id, tz)
    span = energy.data_span(covered, now(), tz)
    period = resolve(asked.period, now(), tz)
    if covered is None:
        say(dispatcher, "utter_energy_no_readings")
        return None
    if energy.outside_data(period, covered):
        say(dispatcher, "utter_energy_period_no_data", period_label=period.label, **span)
        return None
    if asked.versus is not None:
        return _compare(dispatcher, session, ref, chosen, device_type, asked, period, covered, span)
    result = energy.measure(session, ref.household_id, chosen, device_type, period)
    _utter(dispatcher, result, ranking=energy.asks_ranking(text))
    if energy.before_data(period, covered):
        say(dispatcher, "utter_energy_period_partial", **span)
    return result


def _compare(
    dispatcher: CollectingDispatcher,
    session: Session,
    ref: HouseholdRef,
    chosen: Selection,
    device_type: str | None,
    asked: energy.Asked,
    period: Period,
    covered: Coverage,
    span: dict[str, str],
) -> energy.EnergyUsage | None:
    base_period = energy.clip_to_data(period, covered)
    other_period = energy.reference_period(asked, base_period, now(), ref.tenant.timezone)
    if energy.outside_data(other_period, covered):
        say(dispatcher, "utter_energy_compare_no_data", other_label=other_period.label, **span)
        return None
    base = energy.measure(session, ref.household_id, chosen, device_type, base_period)
    other = energy.measure(session, ref.household_id, chosen, device_type, other_period)
    result = energy.compare(base, other)
    card = energy.comparison_card(result)
    values = {
        "subject": base.subject,
        "period_label": base.period_label,
        "kwh": energy.spoken_kwh(base.kwh),
        "cost": str(base.cost),
        "other_label": other.period_label,
        "kwh_diff": energy.spoken_kwh(abs(result.kwh_diff)),
        "cost_diff": str(abs(result.cost_diff)),
    }
    if energy.spoken_kwh(abs(result.kwh_diff)) == "0.0":
        say(dispatcher, "utter_energy_compare_same", card, **values)
    elif result.kwh_diff > 0:
        say(dispatcher, "utter_energy_compare_more", card, **values)
    else:
        say(dispatcher, "utter_energy_compare_less", card, **values)
    if energy.before_data(other_period, covered):
        say(dispatcher, "utter_energy_period_partial", **span)
    return base


def _utter(dispatcher: CollectingDispatcher, result: energy.EnergyUsage, ranking: bool) -> None:
    if not result.has_data:
        if result.device_type:
            say(
                dispatcher,
                "utter_energy_usage_no_data",
                period_label=result.period_label,
                device_type=result.subject,
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
    if result.subject != energy.WHOLE_HOME:
        say(dispatcher, "utter_energy_usage_device", card, device_type=result.subject, **values)
        return
    if ranking and len(result.ranking) > 1:
        first, second = result.ranking[0], result.ranking[1]
        say(
            dispatcher,
            "utter_energy_ranking",
            card,
            period_label=result.period_label,
            first_device=first.name,
            first_kwh=energy.spoken_kwh(first.kwh),
            second_device=second.name,
            second_kwh=energy.spoken_kwh(second.kwh),
        )
        return
    say(dispatcher, "utter_energy_usage_household", card, **values)
    top = result.ranking[0] if result.ranking and result.ranking[0].kwh > 0 else None
    if top is not None:
        say(
            dispatcher,
            "utter_energy_biggest",
            device=top.name,
            kwh=energy.spoken_kwh(top.kwh),
            share=energy.spoken_share(top.kwh, result.kwh),
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
