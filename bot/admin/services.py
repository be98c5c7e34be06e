"""The manufacturer admin services: catalog import, aggregated devices and offers, the regulator's
export of one household, and device token rotation. Everything is scoped to the admin's tenant: ids
of another tenant are not found (never "forbidden", which would reveal that they exist).

Aggregates carry counts only: no household names, device names, ids or free text.
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.errors import InputError, NotFoundError
from bot.finance.catalog_io import ImportReport, import_catalog
from bot.finance.catalog_parse import parse_csv_catalog, parse_json_catalog
from bot.household import data_rights
from bot.offers import records
from bot.store.credentials import remember_hub_secret
from bot.store.ledger import Application, OfferAudit
from bot.store.models import ApiToken, Device, DeviceCategory, Household, Tenant, TokenRole
from bot.store.repo import Principal, issue_token

AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 3, "0-3"),
    (3, 5, "3-5"),
    (5, 10, "5-10"),
    (10, None, "10+"),
)
"""Device age bands in whole years (lower bound inclusive)."""
NOT_APPLIED = "offered"
"""State of an offer that no application was started from."""


def admin_tenant(principal: Principal) -> str:
    """The tenant an admin token speaks for; 403 for device and designer tokens."""
    if principal.role != TokenRole.ADMIN:
        raise InputError("只有厂商管理凭证可以使用管理接口", code="not_admin", status=403)
    return principal.tenant_id


def import_catalog_text(
    session: Session, tenant_id: str, text: str, *, csv_kind: str | None = None, kind: str | None = None
) -> ImportReport:
    """Validate a JSON catalog (or CSV rows of ``csv_kind``) whole, then import it (all or nothing)."""
    catalog = parse_json_catalog(text, kind) if csv_kind is None else parse_csv_catalog(text, csv_kind)
    return import_catalog(session, tenant_id, catalog)


def _devices(session: Session, tenant_id: str) -> list[Device]:
    query = select(Device).join(Household).where(Household.tenant_id == tenant_id)
    return list(session.exec(query).all())


def age_band(purchased: date, today: date) -> str:
    """The age band of a device bought on ``purchased``."""
    years = today.year - purchased.year - ((today.month, today.day) < (purchased.month, purchased.day))
    for low, high, label in AGE_BANDS:
        if years >= low and (high is None or years < high):
            return label
    return AGE_BANDS[0][2]


def _counts(values: list[Any]) -> dict[str, int]:
    return {str(k): v for k, v in sorted(Counter(values).items(), key=lambda kv: str(kv[0]))}


def device_summary(session: Session, tenant_id: str, today: date) -> dict[str, Any]:
    """Devices of the tenant counted by category, brand, energy grade and age band."""
    devices = _devices(session, tenant_id)
    households = {d.household_id for d in devices}
    return {
        "devices": len(devices),
        "households": len(households),
        "by_category": _counts([d.category for d in devices]),
        "by_brand": _counts([d.brand for d in devices]),
        "by_energy_grade": _counts([d.energy_grade if d.energy_grade else "none" for d in devices]),
        "by_age_band": _counts([age_band(d.purchased_on, today) for d in devices]),
    }


def offer_summary(session: Session, tenant_id: str) -> dict[str, Any]:
    """Offers made for the tenant's households counted by kind, state and local day."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFoundError("没有找到这个厂商", code="tenant_not_found")
    tz = ZoneInfo(tenant.timezone)
    query = (
        select(OfferAudit.kind, OfferAudit.created_at, Application.state)
        .join(Household, col(Household.id) == OfferAudit.household_id)
        .outerjoin(Application, col(Application.offer_id) == OfferAudit.id)
        .where(Household.tenant_id == tenant_id)
    )
    rows = [(kind, _day(at, tz), state or NOT_APPLIED) for kind, at, state in session.exec(query).all()]
    combos = Counter(rows)
    return {
        "offers": len(rows),
        "by_kind": _counts([r[0] for r in rows]),
        "by_state": _counts([r[2] for r in rows]),
        "by_day": _counts([r[1] for r in rows]),
        "rows": [
            {"day": day, "kind": kind, "state": state, "count": n}
            for (kind, day, state), n in sorted(combos.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2]))
        ],
    }


def _day(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).date().isoformat()


def household_of_tenant(session: Session, tenant_id: str, household_id: int) -> Household:
    """A household of this tenant; 404 for unknown ids and other tenants' households alike."""
    household = session.get(Household, household_id)
    if household is None or household.tenant_id != tenant_id:
        raise NotFoundError("没有找到这个家庭", code="household_not_found")
    return household


def household_export(session: Session, tenant_id: str, household_id: int, now: datetime) -> dict[str, Any]:
    """The consent ledger and the offer audit of one household, exactly as it sees them in 我的数据."""
    household_of_tenant(session, tenant_id, household_id)
    return {
        "household_id": household_id,
        "exported_at": now.isoformat(),
        "consents": data_rights.consent_ledger(session, household_id),
        "offers": records.offer_audit(session, household_id)["offers"],
    }


def device_of_tenant(session: Session, tenant_id: str, device_id: int) -> Device:
    """A device of this tenant; 404 for unknown ids and other tenants' devices alike."""
    device = session.get(Device, device_id)
    household = session.get(Household, device.household_id) if device else None
    if device is None or household is None or household.tenant_id != tenant_id:
        raise NotFoundError("没有找到这台设备", code="device_not_found")
    return device


def rotate_device_token(session: Session, tenant_id: str, device_id: int, now: datetime) -> tuple[str, int]:
    """Revoke the device's live tokens and issue a new one; returns (token, tokens revoked).

    The new token is returned once and stored only as its hash.
    """
    device = device_of_tenant(session, tenant_id, device_id)
    live = session.exec(
        select(ApiToken).where(ApiToken.device_id == device_id, col(ApiToken.revoked_at).is_(None))
    ).all()
    for row in live:
        row.revoked_at = now
        session.add(row)
    hub = device.category == DeviceCategory.HUB
    token = f"{'hub' if hub else 'dev'}-{secrets.token_urlsafe(32)}"
    label = live[0].label if live else device.name
    issue_token(session, token, TokenRole.HUB if hub else TokenRole.DEVICE, tenant_id, device_id, label, now)
    if hub:
        remember_hub_secret(session, device_id, token)
    session.flush()
    return token, len(live)
