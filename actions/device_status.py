"""Own devices: age, warranty status and recent faults. A plain answer: no consent, no offer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import Events, awaiting, entity_or_slot, household_session, now, render, say, topic
from bot.errors import BotError, NotFoundError
from bot.household import device_status

MAX_SPOKEN = 2
"""Devices described by voice at most (the card lists them all)."""


class ActionDeviceStatus(Action):
    """「冰箱还在保修期吗」: for each device of the category, age, warranty and recent faults."""

    def name(self) -> str:
        return "action_device_status"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        device_type = entity_or_slot(tracker, "device_type")
        events: Events = [topic("device_status"), awaiting(None), SlotSet("device_type", device_type)]
        try:
            with household_session(tracker) as (session, ref):
                items = device_status.statuses(session, ref.household_id, now(), device_type)
        except NotFoundError:
            say(dispatcher, "utter_no_such_device", device_type=device_type)
            return events
        except BotError:
            say(dispatcher, "utter_service_error")
            return events
        card = device_status.status_card(items)
        card["title"] = render(domain, "utter_card_title_devices")
        if device_type is None:
            out = sum(1 for s in items if not s.in_warranty)
            faulty = sum(1 for s in items if s.recent_faults)
            say(dispatcher, "utter_device_summary", card, count=len(items), out=out, faulty=faulty)
            return events
        for i, item in enumerate(items[:MAX_SPOKEN]):
            _describe(dispatcher, item, card if i == 0 else None)
        return events


def _describe(
    dispatcher: CollectingDispatcher, item: device_status.DeviceStatus, card: dict[str, Any] | None
) -> None:
    values = {
        "device": item.name,
        "age": item.age_years,
        "warranty_until": device_status.spoken_date(item.warranty_until),
    }
    response = "utter_device_in_warranty" if item.in_warranty else "utter_device_out_of_warranty"
    say(dispatcher, response, card, **values)
    if item.recent_faults:
        last = item.recent_faults[0]
        say(dispatcher, "utter_device_faults", count=len(item.recent_faults), last=last.description)
    else:
        say(dispatcher, "utter_device_no_faults")
