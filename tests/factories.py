"""Small row factories shared by unit tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import Session

from bot.finance.catalog_io import import_catalog
from bot.seed.tenants import packaged_catalog
from bot.store.models import Device, Household, Tenant

TENANT_ID = "acme"


def ensure_tenant(session: Session, tenant_id: str = TENANT_ID) -> Tenant:
    """A minimal tenant (Beijing tariff), created once and flushed."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        tenant = Tenant(
            id=tenant_id,
            name="Acme",
            brand="Acme",
            assistant_name="小安",
            tariff_yuan_per_kwh=Decimal("0.4883"),
        )
        session.add(tenant)
        session.flush()
    return tenant


def add_household(session: Session, name: str = "张家", tenant_id: str = TENANT_ID) -> int:
    """A committed household of the test tenant; returns its id."""
    ensure_tenant(session, tenant_id)
    household = Household(tenant_id=tenant_id, name=name)
    session.add(household)
    session.commit()
    if household.id is None:
        raise RuntimeError("household not saved")
    return household.id


def add_device(session: Session, household_id: int, name: str = "空调", category: str = "空调") -> int:
    """A committed device of ``household_id`` (bought 2024, under warranty until 2027); returns its id."""
    device = Device(
        household_id=household_id,
        category=category,
        name=name,
        brand="Acme",
        model="A1",
        room="客厅",
        purchased_on=date(2024, 1, 1),
        warranty_until=date(2027, 1, 1),
    )
    session.add(device)
    session.commit()
    if device.id is None:
        raise RuntimeError("device not saved")
    return device.id


def load_demo_catalog(session: Session, tenant_id: str) -> None:
    """Import the packaged demo catalog for ``tenant_id`` (idempotent, as the seed does)."""
    import_catalog(session, tenant_id, packaged_catalog("demo"))
