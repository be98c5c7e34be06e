"""Jobs ``bot up`` runs on a schedule, daily: the green-points accrual of the last settled month, and
the renewal of the maintenance subscriptions whose period ran out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from bot.config import Config
from bot.errors import BotError
from bot.household import subscriptions
from bot.household.accrual import accrue_month, settled_months
from bot.periods import DEFAULT_TZ
from bot.store.db import in_session, utcnow

_LOGGER = logging.getLogger(__name__)
DAY_S = 86_400.0


def accrue_last_month(config: Config, now: datetime) -> str:
    """Credit the last settled month (idempotent); a one-line summary."""
    month = settled_months(now, DEFAULT_TZ)[0]
    report = in_session(config.db_url, lambda s: accrue_month(s, month, now))
    added = f"{report.credited} credited ({report.points} points)"
    return f"points accrual {report.month}: {added}, {report.already} already"


def renew_subscriptions(config: Config, now: datetime) -> str:
    """Renew the automatic subscriptions due (idempotent: each renewal date once); a one-line summary."""
    renewed = in_session(config.db_url, lambda s: subscriptions.renew_due(s, now))
    return f"subscriptions: {renewed} renewed"


async def daily_accrual(
    config: Config, say: Callable[[str], None], stop: asyncio.Event, every_s: float = DAY_S
) -> None:
    """Run the daily jobs now and then every ``every_s`` seconds until ``stop``; failures are reported."""
    while not stop.is_set():
        for job in (accrue_last_month, renew_subscriptions):
            try:
                say(await asyncio.to_thread(job, config, utcnow()))
            except BotError as err:
                _LOGGER.warning("%s failed: %s", job.__name__, err.message)
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        except TimeoutError:
            continue
