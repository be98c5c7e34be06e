"""Tables of the household side: tenants, households, devices, tokens, telemetry, conversations, consent.

Timestamps are aware datetimes (sqlmodel stores them as UTC); money and energy are ``Decimal``
columns. Other areas (catalog, offers…) add their tables in sibling modules imported by
``bot.store.tables``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class Tenant(SQLModel, table=True):
    """A manufacturer deploying the skill: brand, assistant persona, tariff."""

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=120)
    brand: str = Field(max_length=60)
    assistant_name: str = Field(max_length=40)
    timezone: str = Field(default="Asia/Shanghai", max_length=60)
    tariff_region: str = Field(default="beijing", max_length=40)
    """Key of the residential tariff schedule (阶梯电价) used for costs."""
    tariff_yuan_per_kwh: Decimal = Field(max_digits=8, decimal_places=4)
    """Tier-1 residential price, used where no tiered schedule applies."""
    config: str | None = Field(default=None)
    """The tenant configuration (``bot.tenants.config.TenantConfig``) as JSON; None: defaults."""


class Household(SQLModel, table=True):
    """One home served through one or more devices."""

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=40)
    name: str = Field(max_length=60)
    """Display name, e.g. 张家."""
    members: int = Field(default=3)
    """Number of people, used by tariffs that raise the tier quota for large families."""


class DeviceCategory(StrEnum):
    """Canonical device categories (CONTRACTS.md §2, ``device_type``)."""

    AIR_CONDITIONER = "空调"
    FRIDGE = "冰箱"
    WASHER = "洗衣机"
    WATER_HEATER = "热水器"
    FRESH_AIR = "新风机"
    ROBOT_VACUUM = "扫地机器人"
    AIR_PURIFIER = "空气净化器"
    SMART_LOCK = "智能门锁"
    CAMERA = "摄像头"
    TV = "电视"
    DISHWASHER = "洗碗机"
    SPEAKER = "智能音箱"
    PANEL = "中控屏"
    HUB = "智能网关"


class Device(SQLModel, table=True):
    """An appliance or smart-home device of a household."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    category: str = Field(max_length=20)
    """A ``DeviceCategory`` value."""
    name: str = Field(max_length=60)
    """Display name, e.g. 客厅空调."""
    brand: str = Field(max_length=40)
    model: str = Field(max_length=60)
    room: str = Field(max_length=20)
    purchased_on: date
    warranty_until: date
    energy_grade: int | None = Field(default=None)
    """China energy label grade 1–5, when the category has one."""
    rated_power_w: int | None = Field(default=None)
    rated_annual_kwh: Decimal | None = Field(default=None, max_digits=10, decimal_places=1)
    """Annual consumption on the energy label."""


class TokenRole(StrEnum):
    """What a bearer token may do."""

    DEVICE = "device"
    HUB = "hub"
    """A household's telemetry hub: writes readings of its own household's devices, never converses."""
    DESIGNER = "designer"
    ADMIN = "admin"


class ApiToken(SQLModel, table=True):
    """A bearer token, stored only as its SHA-256; device tokens belong to one device."""

    token_hash: str = Field(primary_key=True, max_length=64)
    role: str = Field(max_length=20)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=40)
    device_id: int | None = Field(default=None, foreign_key="device.id", index=True)
    label: str = Field(default="", max_length=60)
    created_at: datetime
    revoked_at: datetime | None = None
    expires_at: datetime | None = None
    """None: valid until revoked."""


class EnergyReading(SQLModel, table=True):
    """Energy one device used in one interval starting at ``start``."""

    __table_args__ = (UniqueConstraint("device_id", "start", name="uq_reading_device_start"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    start: datetime = Field(index=True)
    seconds: int
    """Length of the interval."""
    kwh: Decimal = Field(max_digits=12, decimal_places=3)


class FaultEvent(SQLModel, table=True):
    """A fault a device reported."""

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    occurred_at: datetime
    code: str = Field(max_length=20)
    description: str = Field(max_length=200)
    resolved: bool = False


class Conversation(SQLModel, table=True):
    """One dialogue session of a device; its random id is the Rasa ``sender``."""

    id: str = Field(primary_key=True, max_length=40)
    household_id: int = Field(foreign_key="household.id", index=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    started_at: datetime
    last_turn_at: datetime


class Turn(SQLModel, table=True):
    """The outcome of one accepted turn, kept so a retried ``turn_id`` gets the same answer."""

    __table_args__ = (UniqueConstraint("device_id", "turn_key", name="uq_turn_device_key"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    turn_key: str = Field(max_length=80)
    conversation_id: str = Field(max_length=40)
    created_at: datetime
    outcome: str
    """The JSON response body returned the first time."""


class ConsentScope(StrEnum):
    """What device data a household allows to be used for offers."""

    ENERGY_DATA = "energy_data"
    DEVICE_USAGE = "device_usage"


class ConsentEvent(SQLModel, table=True):
    """Append-only consent ledger: the latest event per (household, scope) is in force."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    scope: str = Field(max_length=30)
    granted: bool
    """True for a grant, False for a withdrawal."""
    channel: str = Field(max_length=20)
    """voice, panel, api or seed."""
    notice_version: str = Field(max_length=20)
    at: datetime
