"""Demo households as data: who lives where, with which devices, and how each device uses energy."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

DailyKwh = Callable[[date, random.Random], float]


def _season(day: date) -> float:
    """-1 in mid-January, +1 in mid-July (northern-China climate)."""
    return -math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365)


def aircon(cooling_kwh: float, heating_kwh: float) -> DailyKwh:
    """An air conditioner: heavy cooling in summer, some heating in deep winter, idle between."""

    def daily(day: date, rng: random.Random) -> float:
        s = _season(day)
        base = cooling_kwh * max(0.0, s - 0.35) / 0.65 + heating_kwh * max(0.0, -s - 0.45) / 0.55
        weekend = 1.25 if day.weekday() >= 5 else 1.0
        return max(0.0, base * weekend * rng.uniform(0.75, 1.25))

    return daily


def steady(kwh: float, summer_boost: float = 0.0, jitter: float = 0.08) -> DailyKwh:
    """A device drawing about the same every day, a little more (or less) in summer."""

    def daily(day: date, rng: random.Random) -> float:
        return max(0.0, kwh * (1 + summer_boost * _season(day)) * rng.uniform(1 - jitter, 1 + jitter))

    return daily


def washer(kwh_per_cycle: float, cycles_per_week: float) -> DailyKwh:
    """A washing machine: some days a cycle or two, other days nothing."""

    def daily(day: date, rng: random.Random) -> float:
        cycles = sum(1 for _ in range(2) if rng.random() < cycles_per_week / 14)
        return cycles * kwh_per_cycle * rng.uniform(0.85, 1.15)

    return daily


@dataclass(frozen=True)
class DeviceSpec:
    """One demo device and its consumption model."""

    name: str
    category: str
    brand: str
    model: str
    room: str
    purchased: date
    warranty_years: int
    daily_kwh: DailyKwh
    energy_grade: int | None = None
    rated_power_w: int | None = None
    rated_annual_kwh: Decimal | None = None
    token: str | None = None
    """Fixed demo bearer token for this device (demo mode only)."""
    faults: tuple[tuple[int, str, str], ...] = ()
    """(days ago, code, description)."""


@dataclass(frozen=True)
class HouseholdSpec:
    """One demo household."""

    name: str
    members: int
    consent_scopes: tuple[str, ...]
    devices: tuple[DeviceSpec, ...] = field(default_factory=tuple)


DEMO_HOUSEHOLDS: tuple[HouseholdSpec, ...] = (
    HouseholdSpec(
        name="张家",
        members=4,
        consent_scopes=("energy_data", "device_usage"),
        devices=(
            DeviceSpec(
                "客厅空调",
                "空调",
                "格力",
                "KFR-35GW 2015款",
                "客厅",
                date(2015, 6, 18),
                6,
                aircon(14.0, 6.0),
                energy_grade=3,
                rated_power_w=1150,
                rated_annual_kwh=Decimal("836"),
            ),
            DeviceSpec(
                "卧室空调",
                "空调",
                "美的",
                "KFR-26GW 新一级",
                "主卧",
                date(2021, 5, 2),
                6,
                aircon(5.0, 2.5),
                energy_grade=1,
                rated_power_w=780,
                rated_annual_kwh=Decimal("497"),
            ),
            DeviceSpec(
                "厨房冰箱",
                "冰箱",
                "海尔",
                "BCD-215STPA",
                "厨房",
                date(2014, 9, 9),
                3,
                steady(1.55, summer_boost=0.15),
                energy_grade=2,
                rated_power_w=120,
                rated_annual_kwh=Decimal("292"),
            ),
            DeviceSpec(
                "洗衣机",
                "洗衣机",
                "小米",
                "XQG100MJ",
                "阳台",
                date(2020, 3, 15),
                3,
                washer(0.9, 5),
                energy_grade=1,
                rated_power_w=2000,
            ),
            DeviceSpec(
                "电热水器",
                "热水器",
                "海尔",
                "EC6002-MC3",
                "卫生间",
                date(2017, 11, 1),
                4,
                steady(3.2, summer_boost=-0.35),
                energy_grade=2,
                rated_power_w=2200,
            ),
            DeviceSpec(
                "扫地机器人",
                "扫地机器人",
                "科沃斯",
                "T10",
                "客厅",
                date(2022, 8, 20),
                1,
                steady(0.06),
                rated_power_w=40,
                faults=(
                    (12, "E03", "主刷缠绕"),
                    (40, "E10", "电池续航下降"),
                    (75, "E03", "主刷缠绕"),
                ),
            ),
            DeviceSpec(
                "门口摄像头",
                "摄像头",
                "小米",
                "云台版2K",
                "玄关",
                date(2022, 1, 5),
                1,
                steady(0.12, jitter=0.02),
                rated_power_w=5,
            ),
            DeviceSpec(
                "智能门锁",
                "智能门锁",
                "欧瑞博",
                "C1",
                "玄关",
                date(2023, 4, 10),
                2,
                steady(0.002, jitter=0.0),
            ),
            DeviceSpec(
                "客厅音箱",
                "智能音箱",
                "小米",
                "小爱音箱Pro",
                "客厅",
                date(2023, 6, 1),
                1,
                steady(0.05, jitter=0.05),
                rated_power_w=3,
                token="demo-zhang-speaker",
            ),
            DeviceSpec(
                "中控屏",
                "中控屏",
                "欧瑞博",
                "MixPad X",
                "客厅",
                date(2023, 6, 1),
                2,
                steady(0.1, jitter=0.03),
                rated_power_w=6,
                token="demo-zhang-panel",
            ),
        ),
    ),
    HouseholdSpec(
        name="李家",
        members=2,
        consent_scopes=(),
        devices=(
            DeviceSpec(
                "客厅空调",
                "空调",
                "海尔",
                "KFR-35GW 静悦",
                "客厅",
                date(2019, 7, 1),
                6,
                aircon(8.0, 3.5),
                energy_grade=2,
                rated_power_w=1000,
                rated_annual_kwh=Decimal("743"),
            ),
            DeviceSpec(
                "冰箱",
                "冰箱",
                "美的",
                "BCD-450WKPZM",
                "厨房",
                date(2020, 10, 12),
                3,
                steady(0.95, summer_boost=0.12),
                energy_grade=1,
                rated_power_w=150,
                rated_annual_kwh=Decimal("321"),
            ),
            DeviceSpec(
                "洗衣机",
                "洗衣机",
                "海尔",
                "EG100MATE2S",
                "阳台",
                date(2018, 4, 3),
                3,
                washer(1.1, 3),
                energy_grade=2,
                rated_power_w=2000,
            ),
            DeviceSpec(
                "电视",
                "电视",
                "华为",
                "智慧屏 SE 65",
                "客厅",
                date(2022, 11, 11),
                1,
                steady(0.45, jitter=0.3),
                energy_grade=1,
                rated_power_w=160,
            ),
            DeviceSpec(
                "扫地机器人",
                "扫地机器人",
                "云米",
                "Alpha 3",
                "客厅",
                date(2021, 2, 1),
                1,
                steady(0.05),
                rated_power_w=35,
            ),
            DeviceSpec(
                "卧室音箱",
                "智能音箱",
                "华为",
                "Sound X",
                "主卧",
                date(2023, 2, 14),
                1,
                steady(0.06, jitter=0.05),
                rated_power_w=4,
                token="demo-li-speaker",
            ),
        ),
    ),
)
