"""Energy questions: how much a device category or the whole home used in a period."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import household_session, latest_entity
from bot import energy
from bot.errors import BotError, NotFoundError
from bot.store.db import utcnow

_DEFAULT_PERIOD = "this_month"


class ActionEnergyUsage(Action):
    """Answer 「我家空调这个月用了多少电」 from the household's own readings, with an energy card."""

    def name(self) -> str:
        return "action_energy_usage"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        device_type = latest_entity(tracker, "device_type")
        period = latest_entity(tracker, "time_period") or tracker.get_slot("time_period") or _DEFAULT_PERIOD
        try:
            with household_session(tracker) as (session, ref):
                result = energy.usage(session, ref.tenant, ref.household_id, device_type, period, utcnow())
        except NotFoundError:
            dispatcher.utter_message(response="utter_no_such_device", device_type=device_type)
            return []
        except BotError:
            dispatcher.utter_message(response="utter_service_error")
            return []
        self._utter(dispatcher, result)
        return [SlotSet("device_type", device_type), SlotSet("time_period", period)]

    @staticmethod
    def _utter(dispatcher: CollectingDispatcher, result: energy.EnergyUsage) -> None:
        if not result.has_data:
            dispatcher.utter_message(
                response="utter_energy_usage_no_data",
                period_label=result.period_label,
                subject=result.device_type or "家里",
            )
            return
        dispatcher.utter_message(
            response="utter_energy_usage_device" if result.device_type else "utter_energy_usage_household",
            device_type=result.device_type,
            period_label=result.period_label,
            kwh=energy.spoken_kwh(result.kwh),
            cost=str(result.cost),
            json_message=energy.usage_card(result),
        )
