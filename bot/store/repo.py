"""Small repository functions shared by the gateway and the actions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.errors import AuthError, InputError, NotFoundError
from bot.store.models import ApiToken, Conversation, Device, Household, Tenant, TokenRole, Turn


def hash_token(token: str) -> str:
    """SHA-256 hex digest under which a bearer token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who a bearer token speaks for."""

    role: str
    tenant_id: str
    device_id: int | None
    household_id: int | None

    def device(self) -> DeviceRef:
        """The device this token belongs to; 403 ``not_a_device`` for hub, designer and admin tokens."""
        if self.role != TokenRole.DEVICE or self.device_id is None or self.household_id is None:
            raise InputError("只有设备凭证可以对话", code="not_a_device", status=403)
        return DeviceRef(self.tenant_id, self.household_id, self.device_id)

    def hub(self) -> DeviceRef:
        """The hub this token belongs to; 403 ``not_a_hub`` for every other token."""
        if self.role != TokenRole.HUB or self.device_id is None or self.household_id is None:
            raise InputError("只有家庭网关凭证可以上传用电数据", code="not_a_hub", status=403)
        return DeviceRef(self.tenant_id, self.household_id, self.device_id)


@dataclass(frozen=True)
class DeviceRef:
    """A device token's device: what a turn, a data-rights request or a voice run speaks for."""

    tenant_id: str
    household_id: int
    device_id: int


def token_id(token_hash: str) -> str:
    """The public id of a stored token (a prefix of its hash): lists and revocations use it."""
    return token_hash[:TOKEN_ID_CHARS]


TOKEN_ID_CHARS = 16


def authenticate(session: Session, token: str, now: datetime | None = None) -> Principal:
    """Resolve a bearer token; unknown, revoked and expired tokens raise AuthError."""
    row = session.get(ApiToken, hash_token(token)) if token else None
    if row is None or row.revoked_at is not None:
        raise AuthError("设备凭证无效", code="invalid_token")
    if row.expires_at is not None and aware(row.expires_at) <= (now or datetime.now(UTC)):
        raise AuthError("凭证已过期，请重新配对或申请新的凭证", code="token_expired")
    household_id = None
    if row.device_id is not None:
        device = session.get(Device, row.device_id)
        household_id = device.household_id if device else None
    return Principal(row.role, row.tenant_id, row.device_id, household_id)


def aware(at: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands back naive ones)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def issue_token(
    session: Session,
    token: str,
    role: str,
    tenant_id: str,
    device_id: int | None,
    label: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> None:
    """Store (the hash of) a token unless it exists already."""
    key = hash_token(token)
    if session.get(ApiToken, key) is None:
        session.add(
            ApiToken(
                token_hash=key,
                role=role,
                tenant_id=tenant_id,
                device_id=device_id,
                label=label,
                created_at=now,
                expires_at=expires_at,
            )
        )


PROBE_PREFIX = "bot-store-probe-"
"""Rasa sender ids of ``bot up``'s tracker-store probes (never a device's conversation, which is hex)."""


def current_conversation(
    session: Session, device_id: int, household_id: int, now: datetime, idle: timedelta
) -> tuple[Conversation, str | None]:
    """The device's live conversation, or a new one when the last turn is older than ``idle``; and
    the id of the conversation the new one replaces (None when there was none or it goes on)."""
    latest = session.exec(
        select(Conversation)
        .where(Conversation.device_id == device_id)
        .order_by(Conversation.last_turn_at.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()
    if latest is not None and now - latest.last_turn_at <= idle:
        return latest, None
    conv = Conversation(
        id=secrets.token_hex(16),
        household_id=household_id,
        device_id=device_id,
        started_at=now,
        last_turn_at=now,
    )
    session.add(conv)
    session.flush()
    return conv, latest.id if latest is not None else None


def touch_conversation(session: Session, conversation_id: str, now: datetime) -> None:
    """Record that a turn happened in the conversation now."""
    conv = session.get(Conversation, conversation_id)
    if conv is not None:
        conv.last_turn_at = now
        session.add(conv)


@dataclass(frozen=True)
class HouseholdRef:
    """The household behind a conversation, with what the services need of its tenant."""

    household_id: int
    tenant: Tenant
    household: Household


def household_of_conversation(session: Session, conversation_id: str) -> HouseholdRef:
    """Resolve a Rasa sender id to its household; unknown senders raise NotFoundError."""
    conv = session.get(Conversation, conversation_id)
    household = session.get(Household, conv.household_id) if conv else None
    tenant = session.get(Tenant, household.tenant_id) if household else None
    if household is None or tenant is None or household.id is None:
        raise NotFoundError("会话不存在", code="unknown_conversation")
    return HouseholdRef(household.id, tenant, household)


def find_turn(session: Session, device_id: int, turn_key: str) -> Turn | None:
    """The stored outcome of a turn the device already sent with this key."""
    return session.exec(select(Turn).where(Turn.device_id == device_id, Turn.turn_key == turn_key)).first()
