"""Green points: balance, how they are earned, what they redeem for (a maintenance service)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import Session

from actions.offering import make_offer
from actions.runtime import Events, awaiting, household_session, latest_entity, render, say, topic
from actions.tenancy import config_of, decline_feature
from bot.errors import BotError
from bot.finance.aftercare import SubscriptionTerms
from bot.household import points as household_points
from bot.store.repo import HouseholdRef
from bot.topics import points
from bot.topics.aftercare import subscription_candidate, subscription_card


class ActionGreenPoints(Action):
    """「积分能换什么」: the balance, the earning rule, and a redemption when a device is named."""

    def name(self) -> str:
        return "action_green_points"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        device_type = latest_entity(tracker, "device_type")
        events: Events = [topic("points"), awaiting(None)]
        try:
            with household_session(tracker) as (session, ref):
                cfg = config_of(ref)
                if not cfg.feature_enabled("points"):
                    decline_feature(dispatcher, domain, cfg, "points")
                    return events
                events += self._answer(dispatcher, tracker, domain, session, ref, device_type)
        except BotError:
            say(dispatcher, "utter_service_error")
        return events

    @staticmethod
    def _answer(
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        session: Session,
        ref: HouseholdRef,
        device_type: str | None,
    ) -> Events:
        balance = household_points.balance(session, ref.household_id)
        rate = points.earning_rate(session, ref.tenant.id)
        items = points.rewards(session, ref.tenant.id, device_type) if device_type else []
        listed = items or points.all_rewards(session, ref.tenant.id)
        card = points.points_card(session, ref.household_id, rate, listed)
        card["title"] = render(domain, "utter_card_title_points")
        say(
            dispatcher,
            "utter_points_balance",
            card,
            balance=balance,
            rate=f"{rate.normalize():f}" if rate else "0",
        )
        if points.asks_origin(str((tracker.latest_message or {}).get("text") or "")):
            _say_origin(dispatcher, session, ref)
            return []
        if not items:
            if listed:
                say(dispatcher, "utter_points_options", options=points.spoken_rewards(listed))
            return []
        reward = items[0]
        price = reward.points_price or 0
        if balance < price:
            say(dispatcher, "utter_points_short", name=reward.name, missing=price - balance)
            return []
        return _offer_redemption(dispatcher, tracker, domain, session, ref, reward)


def _say_origin(dispatcher: CollectingDispatcher, session: Session, ref: HouseholdRef) -> None:
    earned = [m for m in household_points.history(session, ref.household_id) if m.kind == "earn"]
    if not earned:
        say(dispatcher, "utter_points_none_earned")
        return
    say(dispatcher, "utter_points_earned_from", reason=earned[-1].note, points=earned[-1].delta)


def _offer_redemption(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    session: Session,
    ref: HouseholdRef,
    reward: SubscriptionTerms,
) -> Events:
    values = {"name": reward.name, "points": reward.points_price}
    cand = subscription_candidate(
        reward,
        seller=ref.tenant.name,
        text=render(domain, "utter_points_can_redeem", **values),
        explanation=render(domain, "utter_explain_points", **values),
        points=True,
    )
    decision = make_offer(session, ref, tracker, cand, topic="ask_green_points")
    if decision.offer is None:
        return []
    say(
        dispatcher,
        "utter_points_can_redeem",
        subscription_card(reward, decision.offer.offer_id, points=True),
        **values,
    )
    say(dispatcher, "utter_ask_apply")
    return [SlotSet("offer_id", str(decision.offer.offer_id)), awaiting("apply")]
