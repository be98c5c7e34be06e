"""「有没有包年保养」「扫地机耗材能订阅吗」: a maintenance subscription's price per period, what it covers
and its renewal terms (renewed automatically, a reminder before each renewal, cancel any time), as an
audited offer the household applies for like any binding step; 「取消保养订阅」 stops the renewal."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.offering import make_offer
from actions.runtime import Events, awaiting, household_session, latest_entity, render, say, topic
from actions.tenancy import config_of, decline_feature
from bot.errors import BotError
from bot.finance.aftercare import SubscriptionTerms
from bot.topics import aftercare, subscription


class ActionSubscription(Action):
    """The category's maintenance subscription (or a whole-home one) with its terms, then 「要申请吗」."""

    def name(self) -> str:
        return "action_subscription"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        device_type = latest_entity(tracker, "device_type")
        events: Events = [topic("warranty"), awaiting(None)]
        try:
            with household_session(tracker) as (session, ref):
                cfg = config_of(ref)
                if not cfg.feature_enabled("subscription"):
                    decline_feature(dispatcher, domain, cfg, "subscription")
                    return events
                terms = aftercare.subscription_for(session, ref.tenant.id, device_type or "")
                if terms is None:
                    say(
                        dispatcher,
                        "utter_subscription_none",
                        subject=device_type or render(domain, "utter_word_home_appliances"),
                    )
                    return events
                values = _values(terms)
                cand = aftercare.subscription_candidate(
                    terms,
                    seller=ref.tenant.name,
                    text=render(domain, "utter_subscription_terms", **values),
                    explanation=render(
                        domain, "utter_explain_subscription", device_type=device_type or "", **values
                    ),
                    auto_renew=True,
                )
                decision = make_offer(session, ref, tracker, cand, topic="ask_subscription")
                if decision.offer is None:
                    say(dispatcher, "utter_offer_unavailable")
                    return events
                card = aftercare.subscription_card(terms, decision.offer.offer_id)
                card["renewal"] = subscription.renewal_terms()
                say(dispatcher, "utter_subscription_terms", card, **values)
                say(dispatcher, "utter_ask_apply")
                return [*events[:-1], SlotSet("offer_id", str(decision.offer.offer_id)), awaiting("apply")]
        except BotError:
            say(dispatcher, "utter_service_error")
        return events


def _values(terms: SubscriptionTerms) -> dict[str, Any]:
    return {
        "name": terms.name,
        "price": str(terms.price),
        "per_period": aftercare.per_period(terms.period_months),
        "service": terms.service,
        "lead": subscription.lead_days(),
    }
