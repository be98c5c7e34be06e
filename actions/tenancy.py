"""The tenant's configuration inside actions: enabled features, polite declines, partner hand-offs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import household_session, render, say
from bot.errors import BotError
from bot.store.repo import HouseholdRef
from bot.tenants.config import TenantConfig, config_of_row


def config_of(ref: HouseholdRef) -> TenantConfig:
    """The configuration of the household's tenant."""
    return config_of_row(ref.tenant)


def feature_off(tracker: Tracker, feature: str) -> TenantConfig | None:
    """The tenant's configuration when it disabled ``feature``; None when enabled (or unknown household)."""
    try:
        with household_session(tracker) as (_, ref):
            cfg = config_of(ref)
    except BotError:
        return None
    return None if cfg.feature_enabled(feature) else cfg


def decline_feature(
    dispatcher: CollectingDispatcher, domain: Mapping[str, Any], cfg: TenantConfig, feature: str
) -> None:
    """「抱歉，智家暂不提供分期服务。」"""
    name = render(domain, f"utter_feature_{feature}")
    say(dispatcher, "utter_feature_unavailable", brand_name=cfg.brand, feature=name)
