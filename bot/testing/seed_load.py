"""Synthetic households for load tests: ``load-<i>-speaker`` / ``load-<i>-panel`` under the demo tenant.

Each household has a speaker and a panel (the two token devices), an air conditioner and a fridge with
a few weeks of daily readings; even-numbered households have consented to the use of their energy
data and device usage, odd-numbered ones have not. Idempotent, like the demo seed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.engine import Engine

from bot.errors import ConfigError
from bot.seed.demo import DEMO_TENANT_ID, seed_household
from bot.seed.profiles import DeviceSpec, HouseholdSpec, aircon, steady
from bot.store.db import session_scope
from bot.store.models import Tenant

DEFAULT_DAYS = 28


def speaker_token(i: int) -> str:
    """Bearer token of household ``i``'s speaker."""
    return f"load-{i}-speaker"


def panel_token(i: int) -> str:
    """Bearer token of household ``i``'s central control panel."""
    return f"load-{i}-panel"


def load_household(i: int) -> HouseholdSpec:
    """The ``i``-th synthetic household (deterministic)."""
    consent = ("energy_data", "device_usage") if i % 2 == 0 else ()
    devices = (
        DeviceSpec("客厅音箱", "智能音箱", "小米", "小爱音箱Pro", "客厅", date(2023, 6, 1), 1,
                   steady(0.05), rated_power_w=3, token=speaker_token(i)),
        DeviceSpec("中控屏", "中控屏", "欧瑞博", "MixPad X", "客厅", date(2023, 6, 1), 2,
                   steady(0.1), rated_power_w=6, token=panel_token(i)),
        DeviceSpec("客厅空调", "空调", "格力", "KFR-35GW 2016款", "客厅", date(2016, 5, 1 + i % 27), 6,
                   aircon(8.0 + i % 7, 3.0 + i % 3), energy_grade=3, rated_power_w=1100,
                   rated_annual_kwh=Decimal("820")),
        DeviceSpec("冰箱", "冰箱", "海尔", "BCD-215STPA", "厨房", date(2015, 3, 1 + i % 27), 3,
                   steady(1.2 + (i % 5) / 10, summer_boost=0.15), energy_grade=2, rated_power_w=120,
                   rated_annual_kwh=Decimal("292")),
    )  # fmt: skip
    return HouseholdSpec(name=f"负载{i}家", members=2 + i % 4, consent_scopes=consent, devices=devices)


def seed_load(engine: Engine, n: int, now: datetime, days: int = DEFAULT_DAYS) -> int:
    """Create households 0…n-1 (those missing) under the demo tenant; returns readings added."""
    added = 0
    with session_scope(engine) as session:
        tenant = session.get(Tenant, DEMO_TENANT_ID)
        if tenant is None:
            raise ConfigError("demo tenant missing: run `bot seed --demo` first", code="seed_failed")
        for i in range(n):
            added += seed_household(session, tenant, load_household(i), now, days)
    return added
