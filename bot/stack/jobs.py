"""Jobs ``bot up`` runs on a schedule: the daily green-points accrual of the last settled month."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from bot.config import Config
from bot.errors import BotError
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


async def daily_accrual(
    config: Config, say: Callable[[str], None], stop: asyncio.Event, every_s: float = DAY_S
) -> None:
    """Run the accrual now and then every ``every_s`` seconds until ``stop``; failures are reported."""
    while not stop.is_set():
        try:
            say(await asyncio.to_thread(accrue_last_month, config, utcnow()))
        except BotError as err:
            _LOGGER.warning("points accrual failed: %s", err.message)
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        except TimeoutError:
            continue
