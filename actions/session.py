"""Session start: the tenant's persona (assistant name, brand, sign-off) as slots for every response,
and the reminder of a subscription's coming automatic renewal (said once, at the household's next
conversation)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import household_session, now, render, say
from bot.errors import BotError
from bot.tenants.config import TenantConfig, config_of_row, wording
from bot.topics import subscription


class ActionSessionStart(Action):
    """Start the session with the persona slots of the household's tenant (defaults if unknown)."""

    def name(self) -> str:
        return "action_session_start"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            with household_session(tracker) as (_, ref):
                cfg: TenantConfig | None = config_of_row(ref.tenant)
        except BotError:
            cfg = None
        default_sign_off = render(domain, "utter_sign_off_default")
        events: list[dict[str, Any]] = [SessionStarted()]
        if cfg is None:
            name, brand = (
                render(domain, "utter_default_assistant_name"),
                render(domain, "utter_default_brand_name"),
            )
            events += [SlotSet("assistant_name", name), SlotSet("brand_name", brand)]
            events.append(SlotSet("sign_off", default_sign_off))
        else:
            events += [SlotSet("assistant_name", cfg.assistant_name), SlotSet("brand_name", cfg.brand)]
            events.append(SlotSet("sign_off", wording(cfg, cfg.wording.sign_off) or default_sign_off))
        events.append(ActionExecuted("action_listen"))
        _remind_renewals(dispatcher, tracker, domain)
        return events


def _remind_renewals(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> None:
    """Say each renewal due within the reminder lead, with its card (a failure only skips it)."""
    try:
        with household_session(tracker) as (session, ref):
            moment = now()
            for row in subscription.take_due_reminders(session, ref.household_id, moment):
                card = subscription.subscription_card(
                    row,
                    moment,
                    card_type="subscription_reminder",
                    title=render(domain, "utter_card_title_subscription_reminder"),
                    suggestion=render(domain, "utter_suggest_cancel_subscription"),
                )
                values = subscription.reminder_values(row, ref.tenant.timezone)
                say(dispatcher, "utter_subscription_reminder", card, **values)
    except BotError:
        return
