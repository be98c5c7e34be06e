"""A manufacturer puts the skill into real homes: households, their devices, and credentials.

Everything is scoped to the admin's tenant (ids of another tenant are "not found"). Speakers,
panels and hubs get a pairing code (``bot.admin.pairing``), appliances do not. Removing a household
erases its data by the rules of 「删除我的数据」 and then the household itself; when offers were made
to it, the offer audit and applications stay (the regulator's record), so the household row stays
too, anonymised and marked removed, with every credential revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from bot.admin.pairing import CREDENTIAL_KINDS, NewCode, kind_of, new_code, revoke_device_tokens
from bot.admin.services import device_of_tenant, household_of_tenant
from bot.energy.tariff import SCHEDULE_KEYS
from bot.errors import InputError, NotFoundError
from bot.household import data_rights
from bot.household.consent import NOTICE_VERSION
from bot.store.credentials import HubSecret, PairingCode, RemovedHousehold
from bot.store.ledger import Application, OfferAudit, OfferPreference, PointsEntry
from bot.store.models import (
    ApiToken,
    ConsentEvent,
    Conversation,
    Device,
    DeviceCategory,
    EnergyReading,
    FaultEvent,
    Household,
    Tenant,
    Turn,
)

KINDS = (*CREDENTIAL_KINDS, "appliance")
APPLIANCE_CATEGORIES = frozenset(c.value for c in DeviceCategory) - {
    c.value for c in CREDENTIAL_KINDS.values()
}
REMOVED_NAME = "（已删除）"


def _text(body: dict[str, Any], key: str, limit: int, *, required: bool = True, default: str = "") -> str:
    raw = body.get(key, default if not required else None)
    if not isinstance(raw, str) or (required and not raw.strip()) or len(raw.strip()) > limit:
        raise InputError(f"{key} 必须是不超过 {limit} 个字的文字", code=f"bad_{key}", status=422)
    return raw.strip()


def _int(body: dict[str, Any], key: str, low: int, high: int, default: int | None) -> int | None:
    raw = body.get(key, default)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise InputError(f"{key} 必须是 {low} 到 {high} 之间的整数", code=f"bad_{key}", status=422)
    return raw


def _date(body: dict[str, Any], key: str, default: date | None) -> date:
    raw = body.get(key)
    if raw is None and default is not None:
        return default
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise InputError(f"{key} 必须是日期，如 2024-05-01", code=f"bad_{key}", status=422) from None


def _region(session: Session, tenant_id: str, body: dict[str, Any]) -> None:
    """A household's tariff is its manufacturer's; a different region is refused, not ignored."""
    raw = body.get("region")
    if raw is None:
        return
    tenant = session.get(Tenant, tenant_id)
    if not isinstance(raw, str) or raw not in SCHEDULE_KEYS:
        raise InputError(f"未知的电价地区：{raw}", code="bad_region", status=422)
    if tenant is not None and raw != tenant.tariff_region:
        raise InputError(
            f"该厂商的电价地区是 {tenant.tariff_region}，家庭不能单独设置", code="bad_region", status=422
        )


def create_household(session: Session, tenant_id: str, body: dict[str, Any]) -> Household:
    """A new household of the tenant: ``{"name", "region"?, "members"?}``."""
    name = _text(body, "name", 60)
    members = _int(body, "members", 1, 20, 3) or 3
    _region(session, tenant_id, body)
    household = Household(tenant_id=tenant_id, name=name, members=members)
    session.add(household)
    session.flush()
    return household


def update_household(session: Session, tenant_id: str, household_id: int, body: dict[str, Any]) -> Household:
    """Change a household's display name or number of members."""
    household = live_household(session, tenant_id, household_id)
    if "name" in body:
        household.name = _text(body, "name", 60)
    if "members" in body:
        household.members = _int(body, "members", 1, 20, None) or household.members
    _region(session, tenant_id, body)
    session.add(household)
    return household


def live_household(session: Session, tenant_id: str, household_id: int) -> Household:
    """A household of the tenant that was not removed; 404 otherwise."""
    household = household_of_tenant(session, tenant_id, household_id)
    if session.get(RemovedHousehold, household_id) is not None:
        raise NotFoundError("没有找到这个家庭", code="household_not_found")
    return household


def list_households(session: Session, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's households (removed ones left out) with their device counts."""
    removed = select(RemovedHousehold.household_id)
    rows = session.exec(
        select(Household)
        .where(Household.tenant_id == tenant_id, col(Household.id).not_in(removed))
        .order_by(col(Household.id))
    ).all()
    return [household_json(session, h) for h in rows]


def household_json(session: Session, household: Household) -> dict[str, Any]:
    """A household as the admin API shows it."""
    devices = session.exec(select(Device.id).where(Device.household_id == household.id)).all()
    return {
        "household_id": household.id,
        "name": household.name,
        "members": household.members,
        "devices": len(devices),
    }


@dataclass(frozen=True)
class NewDevice:
    """A device just added, with its pairing code when it gets credentials."""

    device: Device
    pairing: NewCode | None


def create_device(
    session: Session, tenant_id: str, household_id: int, body: dict[str, Any], now: datetime
) -> NewDevice:
    """Add a device (CONTRACTS.md §5); speakers, panels and hubs get a pairing code."""
    household = live_household(session, tenant_id, household_id)
    kind = body.get("kind", "appliance")
    if kind not in KINDS:
        raise InputError(f"kind 必须是 {'、'.join(KINDS)} 之一", code="bad_kind", status=422)
    if kind == "appliance":
        category = body.get("category")
        if category not in APPLIANCE_CATEGORIES:
            raise InputError("category 必须是已知的家电品类，如 空调", code="bad_category", status=422)
    else:
        category = CREDENTIAL_KINDS[kind].value
    purchased = _date(body, "purchased_on", now.date())
    device = Device(
        household_id=household.id or 0,
        category=str(category),
        name=_text(body, "name", 60),
        room=_text(body, "room", 20, required=False, default=""),
        brand=_text(body, "brand", 40, required=False, default=""),
        model=_text(body, "model", 60, required=False, default=""),
        purchased_on=purchased,
        warranty_until=_date(body, "warranty_until", purchased + timedelta(days=365)),
    )
    _label_fields(device, body)
    session.add(device)
    session.flush()
    return NewDevice(device, new_code(session, device, now) if kind != "appliance" else None)


def _label_fields(device: Device, body: dict[str, Any]) -> None:
    """Energy label fields: grade 1–5, rated power (W), rated annual kWh."""
    if "energy_grade" in body:
        device.energy_grade = _int(body, "energy_grade", 1, 5, None)
    if "rated_power_w" in body:
        device.rated_power_w = _int(body, "rated_power_w", 1, 30_000, None)
    if "rated_annual_kwh" in body:
        raw = body["rated_annual_kwh"]
        try:
            value = None if raw is None else Decimal(str(raw))
        except InvalidOperation:
            value = Decimal(-1)
        if value is not None and (isinstance(raw, bool) or not value.is_finite() or not 0 < value < 100_000):
            raise InputError(
                "rated_annual_kwh 必须是 0 到 100000 之间的数", code="bad_rated_annual_kwh", status=422
            )
        device.rated_annual_kwh = value


def update_device(session: Session, tenant_id: str, device_id: int, body: dict[str, Any]) -> Device:
    """Change a device's name, room, brand, model, dates or label fields (not its kind)."""
    device = tenant_device(session, tenant_id, device_id)
    for key, limit in (("name", 60), ("room", 20), ("brand", 40), ("model", 60)):
        if key in body:
            setattr(device, key, _text(body, key, limit, required=key == "name"))
    if "purchased_on" in body:
        device.purchased_on = _date(body, "purchased_on", None)
    if "warranty_until" in body:
        device.warranty_until = _date(body, "warranty_until", None)
    _label_fields(device, body)
    session.add(device)
    return device


def tenant_device(session: Session, tenant_id: str, device_id: int) -> Device:
    """A device of a live household of the tenant; 404 otherwise."""
    device = device_of_tenant(session, tenant_id, device_id)
    live_household(session, tenant_id, device.household_id)
    return device


def device_json(device: Device) -> dict[str, Any]:
    """A device as the admin API shows it."""
    return {
        "device_id": device.id,
        "household_id": device.household_id,
        "kind": kind_of(device),
        "category": device.category,
        "name": device.name,
        "room": device.room,
        "brand": device.brand,
        "model": device.model,
        "purchased_on": device.purchased_on.isoformat(),
        "warranty_until": device.warranty_until.isoformat(),
        "energy_grade": device.energy_grade,
        "rated_power_w": device.rated_power_w,
        "rated_annual_kwh": None if device.rated_annual_kwh is None else str(device.rated_annual_kwh),
    }


def list_devices(session: Session, tenant_id: str, household_id: int) -> list[dict[str, Any]]:
    """A household's devices."""
    live_household(session, tenant_id, household_id)
    rows = session.exec(
        select(Device).where(Device.household_id == household_id).order_by(col(Device.id))
    ).all()
    return [device_json(d) for d in rows]


def pairing_code(session: Session, tenant_id: str, device_id: int, now: datetime) -> NewCode:
    """A new pairing code for a speaker, panel or hub (earlier unused codes stop working)."""
    return new_code(session, tenant_device(session, tenant_id, device_id), now)


def revoke_tokens(session: Session, tenant_id: str, device_id: int, now: datetime) -> int:
    """Revoke every live token of a device of the tenant."""
    return revoke_device_tokens(session, tenant_device(session, tenant_id, device_id).id or 0, now)


def remove_device(session: Session, tenant_id: str, device_id: int) -> None:
    """Delete a device with its readings, faults, conversations, codes and tokens."""
    device = tenant_device(session, tenant_id, device_id)
    _delete_devices(session, [device.id or 0])
    session.delete(device)


def _delete_devices(session: Session, ids: list[int]) -> None:
    for table in (EnergyReading, FaultEvent, Turn, Conversation, PairingCode, HubSecret, ApiToken):
        session.execute(delete(table).where(col(table.device_id).in_(ids)))
    session.execute(update(PointsEntry).where(col(PointsEntry.device_id).in_(ids)).values(device_id=None))


def remove_household(session: Session, tenant_id: str, household_id: int, now: datetime) -> dict[str, Any]:
    """Erase the household's data (as 「删除我的数据」), then the household itself.

    Returns what happened: ``deleted`` (nothing of it is left) or ``records_kept`` (offers were
    made: their audit and applications stay with an anonymised household row, every credential
    and device gone).
    """
    household = live_household(session, tenant_id, household_id)
    erased = data_rights.erase_device_data(
        session, household_id, notice_version=NOTICE_VERSION, now=now, channel="api"
    )
    device_ids = [
        i for i in session.exec(select(Device.id).where(Device.household_id == household_id)).all() if i
    ]
    _delete_devices(session, device_ids)
    session.execute(delete(Device).where(col(Device.household_id) == household_id))
    has_records = session.exec(select(OfferAudit.id).where(OfferAudit.household_id == household_id)).first()
    has_records = (
        has_records
        or session.exec(select(Application.id).where(Application.household_id == household_id)).first()
    )
    outcome = {"household_id": household_id, "readings": erased.readings, "faults": erased.faults}
    if has_records:
        household.name, household.members = REMOVED_NAME, 1
        session.add(household)
        session.add(RemovedHousehold(household_id=household_id, removed_at=now))
        return {**outcome, "removed": "records_kept"}
    for table in (OfferPreference, PointsEntry, ConsentEvent):
        session.execute(delete(table).where(col(table.household_id) == household_id))
    session.delete(household)
    return {**outcome, "removed": "deleted"}
