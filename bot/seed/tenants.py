"""The demo tenants as data: their packaged configuration files, catalogs, households and tokens.

``demo`` (小居, appliance maker, Beijing) carries every existing demo token; ``zhijia`` (智家,
smart-home brand, assistant 小智, Shanghai) is the second manufacturer served by the same gateway.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from importlib import resources

from bot.finance.catalog_parse import Catalog, parse_json_catalog
from bot.seed.profiles import DeviceSpec, HouseholdSpec, aircon, steady
from bot.tenants.config import TenantConfig, parse_tenant_config

ZHIJIA_TENANT_ID = "zhijia"
ADMIN_TOKENS: dict[str, str] = {"demo": "demo-admin", ZHIJIA_TENANT_ID: "demo-zhijia-admin"}
"""Manufacturer admin token of each demo tenant (admin API only)."""
DEMO_LENDER = "demo-lender"
"""The demo tenants' partner endpoint: the partner simulator (``bot demo-partner``)."""
CATALOG_FILES: dict[str, str] = {"demo": "demo_catalog.json", ZHIJIA_TENANT_ID: "zhijia_catalog.json"}
"""Packaged catalog file (``bot/seed/data``) of each demo tenant."""


def packaged_tenant_config(tenant_id: str, partner_port: int | None = None) -> TenantConfig:
    """The packaged ``bot/seed/data/tenants/<id>.toml`` configuration; ``partner_port``: the demo
    partner simulator's port (``partner_sim_port``) its ``demo-lender`` delivers to."""
    name = f"{tenant_id}.toml"
    text = resources.files("bot.seed.data").joinpath("tenants", name).read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    lender = raw.get("partners", {}).get(DEMO_LENDER)
    if partner_port is not None and lender is not None:
        lender["url"] = f"http://127.0.0.1:{partner_port}/deliveries"
    return parse_tenant_config(raw, f"tenants/{name}")


def packaged_catalog(tenant_id: str) -> Catalog:
    """The packaged demo catalog of a demo tenant."""
    text = resources.files("bot.seed.data").joinpath(CATALOG_FILES[tenant_id]).read_text(encoding="utf-8")
    return parse_json_catalog(text)


ZHIJIA_HOUSEHOLDS: tuple[HouseholdSpec, ...] = (
    HouseholdSpec(
        name="王家",
        members=3,
        consent_scopes=("energy_data", "device_usage"),
        devices=(
            DeviceSpec(
                "客厅空调",
                "空调",
                "大金",
                "FTXS336 2016款",
                "客厅",
                date(2016, 5, 20),
                6,
                aircon(11.0, 5.0),
                energy_grade=3,
                rated_power_w=1100,
                rated_annual_kwh=Decimal("830"),
            ),
            DeviceSpec(
                "冰箱",
                "冰箱",
                "西门子",
                "KA62NV02TI",
                "厨房",
                date(2013, 10, 1),
                3,
                steady(1.4, summer_boost=0.15),
                energy_grade=2,
                rated_power_w=140,
                rated_annual_kwh=Decimal("300"),
            ),
            DeviceSpec(
                "扫地机器人",
                "扫地机器人",
                "追觅",
                "L10s",
                "客厅",
                date(2021, 9, 1),
                1,
                steady(0.05),
                rated_power_w=40,
            ),
            DeviceSpec(
                "智能门锁",
                "智能门锁",
                "绿米",
                "N100",
                "玄关",
                date(2022, 3, 3),
                2,
                steady(0.002, jitter=0.0),
            ),
            DeviceSpec(
                "客厅音箱",
                "智能音箱",
                "智家",
                "智家音箱 S1",
                "客厅",
                date(2024, 1, 8),
                1,
                steady(0.05, jitter=0.05),
                rated_power_w=3,
                token="demo-wang-speaker",
            ),
            DeviceSpec(
                "中控屏",
                "中控屏",
                "智家",
                "智家中控屏 P7",
                "客厅",
                date(2024, 1, 8),
                2,
                steady(0.1, jitter=0.03),
                rated_power_w=6,
                token="demo-wang-panel",
            ),
        ),
    ),
)
