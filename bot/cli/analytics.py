"""``bot analytics``: consume Rasa's event queue into analytics rows, and report aggregates."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from dataclasses import asdict
from functools import partial
from typing import Any

from bot.analytics.consumer import EventHandler, consume, drain
from bot.analytics.store import Report, record, report
from bot.config import Config
from bot.errors import ConfigError, StoreError
from bot.store.db import make_engine


def register(subparsers: Any) -> None:
    """Add the ``analytics`` subcommands."""
    analytics = subparsers.add_parser("analytics", help="turn and offer analytics from Rasa's event broker")
    actions = analytics.add_subparsers(dest="analytics_command", required=True, metavar="ACTION")

    run = actions.add_parser("consume", help="store tracker events from the event queue (runs until stopped)")
    run.add_argument("--once", action="store_true", help="handle what is queued now, then exit")
    run.set_defaults(handler=_consume)

    rep = actions.add_parser("report", help="aggregates per intent, card type and day (no personal data)")
    rep.add_argument("--json", action="store_true", help="print the report as JSON")
    rep.set_defaults(handler=_report)


def _consume(args: argparse.Namespace, config: Config) -> int:
    if not config.event_broker_url:
        raise ConfigError("未配置事件代理：请设置 event_broker_url（BOT_EVENT_BROKER_URL）")
    engine = make_engine(config.db_url)
    try:
        handler = EventHandler(partial(record, engine))
        stats = asyncio.run(_run(args.once, config, handler))
    finally:
        engine.dispose()
    print(f"analytics: {stats.messages} messages, {stats.rows} new rows, {stats.bad} rejected")
    return 0


async def _run(once: bool, config: Config, handler: EventHandler) -> Any:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, handler.stop.set)
    if once:
        await drain(config.event_broker_url, config.event_queue, handler)
    else:
        await consume(config.event_broker_url, config.event_queue, handler)
    return handler.stats


def _report(args: argparse.Namespace, config: Config) -> int:
    engine = make_engine(config.db_url)
    try:
        result = report(engine)
    except StoreError as err:
        raise StoreError(f"{err.message}（是否已运行 `bot db upgrade`？）") from err
    finally:
        engine.dispose()
    print(json.dumps(asdict(result), ensure_ascii=False, indent=2) if args.json else report_text(result))
    return 0


def report_text(result: Report) -> str:
    """The report for a terminal."""
    lines = ["turns per intent:"]
    lines += [
        f"  {r['intent'] or '-':<24} {r['turns']:>6}  conf {r['mean_confidence']}" for r in result.intents
    ]
    lines.append("bot responses:")
    lines += [f"  {r['action'] or '-':<24} {r['turns']:>6}" for r in result.responses]
    lines.append("offers per card type:")
    lines += [f"  {r['card_type'] or '-':<24} {r['offers']:>6}" for r in result.offers]
    lines.append("per day (UTC): user turns / bot turns / offers / conversations")
    lines += [
        f"  {d['day']}  {d['user_turns']:>6} {d['bot_turns']:>6} {d['offers']:>6} {d['conversations']:>6}"
        for d in result.days
    ]
    return "\n".join(lines)
