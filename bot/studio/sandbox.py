"""Sandbox households: a fresh copy of a household for one conversation, never the household itself.

A conversation test or a studio session runs in a *copy* of a household of the tenant (its devices, a
year of meter readings, faults), with its own speaking device and token, and the starting state the
case asks for. What may be copied is the tenant's own business: the demo homes its configuration
lists for the studio (``[studio] households``), and always the studio's sample household
(``bot.studio.template``), so a tenant without any demo home still gets a sandbox of its own. Real
households are never written; a sandbox is removed in full (every row, whatever the erasure policy
keeps for real homes) when its conversation is over (:func:`remove`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, literal, or_
from sqlmodel import Session, col, select

from bot.errors import InputError, NotFoundError
from bot.finance.aftercare import subscriptions_for
from bot.finance.catalog import quote_for_sku
from bot.finance.catalog import subscriptions as all_subscriptions
from bot.household import consent, points
from bot.household.consent import NOTICE_VERSION
from bot.household.erasure import owned
from bot.offers import applications
from bot.offers import service as offers
from bot.offers.types import OfferContext
from bot.store.ledger import Application
from bot.store.models import (
    ApiToken,
    ConsentScope,
    Device,
    EnergyReading,
    FaultEvent,
    Household,
    TokenRole,
)
from bot.store.repo import issue_token
from bot.store.subscriptions import HouseholdSubscription
from bot.store.tables import metadata
from bot.studio import template
from bot.tenants.config import tenant_config_of
from bot.topics.aftercare import subscription_candidate
from bot.topics.installment import candidate

SANDBOX_PREFIX = "沙盒·"
"""Name prefix of every sandbox household (they are never a real home)."""
TOKEN_LABEL = "sandbox"
"""Label of a sandbox's device token."""
CHANNEL = "seed"
"""Starting state is set up like the demo seed, not by the household."""


def households(session: Session, tenant_id: str) -> list[str]:
    """What a sandbox of the tenant may copy: its configured demo homes that exist, then the sample."""
    listed = tenant_config_of(session, tenant_id).studio.households
    names = set(session.exec(select(Household.name).where(Household.tenant_id == tenant_id)).all())
    return [n for n in listed if n in names and not n.startswith(SANDBOX_PREFIX)] + [template.NAME]


@dataclass(frozen=True)
class Sandbox:
    """A sandbox household and the device (and its token) that speaks in it."""

    tenant_id: str
    household_id: int
    device_id: int
    token: str
    source: str
    """Name of the household it copies."""


def create(
    session: Session,
    tenant_id: str,
    household: str,
    kind_category: str,
    now: datetime,
    given: Mapping[str, Any] | None = None,
) -> Sandbox:
    """Copy ``household`` of the tenant (one of :func:`households`) into a new sandbox household with
    a speaking device."""
    if household not in households(session, tenant_id):
        raise NotFoundError(f"没有名为{household}的家庭可以复制", code="household_not_found")
    source = (
        None
        if household == template.NAME
        else session.exec(
            select(Household).where(Household.tenant_id == tenant_id, Household.name == household)
        ).first()
    )
    members = source.members if source is not None else 3
    copy = Household(tenant_id=tenant_id, name=f"{SANDBOX_PREFIX}{household}"[:60], members=members)
    session.add(copy)
    session.flush()
    assert copy.id is not None
    if source is None or source.id is None:  # the sample household
        template.furnish(session, tenant_id, copy.id, now)
    else:
        for device in session.exec(select(Device).where(Device.household_id == source.id)).all():
            _copy_device(session, device, copy.id)
    speaker = Device(
        household_id=copy.id,
        category=kind_category,
        name=f"沙盒{kind_category}",
        brand="-",
        model="studio",
        room="客厅",
        purchased_on=now.date(),
        warranty_until=now.date(),
    )
    session.add(speaker)
    session.flush()
    assert speaker.id is not None
    token = f"studio-{secrets.token_hex(16)}"
    issue_token(session, token, TokenRole.DEVICE, tenant_id, speaker.id, TOKEN_LABEL, now)
    session.commit()
    granted = consent.in_force(session, source.id) if source is not None and source.id else set(ConsentScope)
    _consents(session, copy.id, [s.value for s in granted], now)
    box = Sandbox(tenant_id, copy.id, speaker.id, token, household)
    apply_given(session, box, given or {}, now)
    return box


def apply_given(session: Session, box: Sandbox, given: Mapping[str, Any], now: datetime) -> None:
    """Set the starting state a case asks for (consents, points, readings, an application, a
    subscription)."""
    if given.get("consents") is not None:
        _consents(session, box.household_id, list(given["consents"]), now)
    if given.get("readings") == "none":
        devices = select(Device.id).where(Device.household_id == box.household_id)
        session.execute(delete(EnergyReading).where(col(EnergyReading.device_id).in_(devices)))
        session.commit()
    if given.get("points") is not None:
        _points(session, box.household_id, int(given["points"]), now)
    if given.get("application") is not None:
        _application(session, box, given["application"], now)
    if given.get("subscription") is not None:
        _subscription(session, box, given["subscription"], now)


def conversations(session: Session, household_id: int) -> tuple[str, ...]:
    """The sandbox's conversation ids (the keys of its trackers in Rasa)."""
    return owned(session, household_id).conversations


def remove(session: Session, household_id: int) -> int:
    """Delete a sandbox household with every row of it in every table; returns the rows deleted.

    Only sandboxes: a real household is refused. Rasa's trackers of its conversations are the
    caller's to erase (:func:`conversations`, before this)."""
    home = session.get(Household, household_id)
    if home is None:
        return 0
    if not home.name.startswith(SANDBOX_PREFIX):
        raise InputError("只能删除沙盒家庭", code="not_a_sandbox")
    ids = owned(session, household_id)
    apps = tuple(session.exec(select(Application.id).where(Application.household_id == household_id)).all())
    keys = {"household_id": (household_id,), "device_id": ids.devices, "conversation_id": ids.conversations}
    keys["application_id"] = tuple(a for a in apps if a is not None)
    deleted = 0
    for table in reversed(metadata.sorted_tables):  # children first
        wanted = [table.c[k].in_(v) for k, v in keys.items() if k in table.c and v]
        if table.name == "household":
            wanted = [table.c.id == household_id]
        if wanted:
            deleted += int(session.execute(delete(table).where(or_(*wanted))).rowcount or 0)  # type: ignore[attr-defined]
    session.commit()
    return deleted


def stale(session: Session, before: datetime) -> list[int]:
    """Sandbox households whose speaking device was made before ``before`` (left by a stopped
    gateway: a live sandbox is removed by whoever made it)."""
    query = (
        select(Household.id)
        .join(Device, col(Device.household_id) == Household.id)
        .join(ApiToken, col(ApiToken.device_id) == Device.id)
        .where(col(Household.name).startswith(SANDBOX_PREFIX), ApiToken.label == TOKEN_LABEL)
        .where(col(ApiToken.created_at) < before)
    )
    return sorted({i for i in session.exec(query).all() if i is not None})


def snapshot(session: Session, household_id: int) -> dict[str, Any]:
    """What a case may check after a turn: latest application state, consents in force, points, the
    state of the household's latest subscription."""
    latest = applications.latest(session, household_id)
    granted = consent.in_force(session, household_id)
    subs = session.exec(
        select(HouseholdSubscription.state)
        .where(HouseholdSubscription.household_id == household_id)
        .order_by(col(HouseholdSubscription.id).desc())
    ).first()
    return {
        "subscription": subs or "none",
        "application": latest.state if latest is not None else "none",
        "consents": {scope.value: scope in granted for scope in ConsentScope},
        "points": points.balance(session, household_id),
        "applications": len(
            session.exec(select(Application.id).where(Application.household_id == household_id)).all()
        ),
    }


def _copy_device(session: Session, device: Device, household_id: int) -> None:
    data = device.model_dump(exclude={"id", "household_id"})
    copy = Device(household_id=household_id, **data)
    session.add(copy)
    session.flush()
    for table, columns in ((EnergyReading, ("start", "seconds", "kwh")), (FaultEvent, _FAULT_COLUMNS)):
        cols = [getattr(table, c) for c in columns]
        rows = select(literal(copy.id), *cols).where(table.device_id == device.id)
        session.execute(insert(table).from_select(["device_id", *columns], rows))


_FAULT_COLUMNS = ("occurred_at", "code", "description", "resolved")


def _consents(session: Session, household_id: int, scopes: list[str], now: datetime) -> None:
    wanted = {consent.parse_scope(s) for s in scopes}
    granted = consent.in_force(session, household_id)
    for scope in ConsentScope:
        if scope in wanted and scope not in granted:
            consent.grant(
                session, household_id, scope.value, channel=CHANNEL, notice_version=NOTICE_VERSION, now=now
            )
        elif scope not in wanted and scope in granted:
            consent.withdraw(
                session, household_id, scope.value, channel=CHANNEL, notice_version=NOTICE_VERSION, now=now
            )


def _points(session: Session, household_id: int, wanted: int, now: datetime) -> None:
    have = points.balance(session, household_id)
    if wanted == have:
        return
    reward = points.Reward(code="studio", name="沙盒调整", points=max(have - wanted, 1))
    if wanted < have:
        points.redeem(session, household_id, reward, now)
        return
    # A sandbox grant has no measured saving behind it: chain a plain entry on the ledger.
    points._append(
        session, household_id, wanted - have, "earn", f"studio:{secrets.token_hex(6)}", note="沙盒", now=now
    )


def _application(session: Session, box: Sandbox, spec: Mapping[str, Any], now: datetime) -> None:
    try:
        periods = int(spec.get("periods", 12))
    except (TypeError, ValueError) as err:
        raise InputError("application.periods 必须是整数", code="bad_case") from err
    quote = quote_for_sku(session, box.tenant_id, str(spec["sku"]), periods)
    text = f"{quote.product_name}分{periods}期"
    cand = candidate(quote, text=text, explanation="对话测试的起始申请")
    context = OfferContext(box.household_id, f"studio-{box.device_id}", None, False)
    offer = offers.decide(session, context, [cand], now).offer
    if offer is None:
        raise InputError("起始申请的报价没有通过报价规则", code="bad_case")
    applications.start(session, offer.offer_id, box.household_id, now)


def _subscription(session: Session, box: Sandbox, spec: Mapping[str, Any], now: datetime) -> None:
    """Take out a catalog subscription the way a household does (offer → application → confirmed on
    the panel), then move its next renewal ``renews_in_days`` from now."""
    found = [s for s in all_subscriptions(session, box.tenant_id) if s.id == spec["id"]]
    if not found:
        raise InputError(f"没有订阅 {spec['id']}", code="bad_case")
    terms = subscriptions_for(found, found[0].category)[0]
    cand = subscription_candidate(
        terms,
        seller="sandbox",
        text=f"{terms.name}自动续费",
        explanation="对话测试的起始订阅",
        auto_renew=True,
    )
    context = OfferContext(box.household_id, f"studio-{box.device_id}", None, False)
    offer = offers.decide(session, context, [cand], now).offer
    if offer is None:
        raise InputError("起始订阅没有通过报价规则", code="bad_case")
    applications.start(session, offer.offer_id, box.household_id, now)
    applications.confirm(session, offer.offer_id, box.household_id, now, via="panel")
    row = session.exec(
        select(HouseholdSubscription).where(HouseholdSubscription.offer_id == offer.offer_id)
    ).one()
    row.renews_at = now + timedelta(days=int(spec["renews_in_days"]))
    session.add(row)
    session.commit()
