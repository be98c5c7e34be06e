"""``bot demo-partner``: DEMO ONLY — the simulated lender ``bot up`` starts in demo mode."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from bot.config import Config
from bot.errors import ConfigError
from bot.partners.simulator import SimulatorSettings, create_simulator
from bot.store.db import make_engine


def register(subparsers: Any) -> None:
    """Add ``bot demo-partner``."""
    cmd = subparsers.add_parser("demo-partner", help="DEMO ONLY: run the partner (lender) simulator")
    cmd.set_defaults(handler=_run)


def simulator_settings(config: Config) -> SimulatorSettings:
    """The simulator's settings from the ``partner_sim_*`` configuration."""
    raw = config.partner_sim_decline_above.strip()
    try:
        decline_above = Decimal(raw) if raw else None
    except InvalidOperation as err:
        raise ConfigError(f"partner_sim_decline_above: cannot use {raw!r}") from err
    return SimulatorSettings(
        gateway_url=f"http://127.0.0.1:{config.port}",
        delay_s=config.partner_sim_delay_s,
        decline_above=decline_above,
    )


def _run(_args: argparse.Namespace, config: Config) -> int:
    if not config.demo:
        raise ConfigError("the partner simulator runs only in demo mode (BOT_DEMO=true)", code="not_demo")
    engine = make_engine(config.db_url)
    app = create_simulator(simulator_settings(config), engine)
    print(f"demo partner simulator on http://127.0.0.1:{config.partner_sim_port}/deliveries")
    web.run_app(app, host="127.0.0.1", port=config.partner_sim_port, print=None)
    engine.dispose()
    return 0
