"""Pairing: a short one-time code a speaker, panel or hub exchanges once for its own bearer token.

Codes are 8 digits, expire after ``CODE_TTL`` and are stored only as a salted hash. Wrong codes
are counted per source and for the whole code space (key ``*``): ``SOURCE_LIMIT`` wrong codes in a
row lock a source out, ``GLOBAL_LIMIT`` wrong codes in a window lock pairing for everyone, so
guessing one of the few live codes among 10^8 stays hopeless. Counters live in the database (all
gateway workers share them); ``exchange`` returns a failure instead of raising so the caller can
commit the counter before answering.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import segno
from sqlalchemy import update
from sqlmodel import Session, col, delete, select

from bot.errors import BotError, InputError, NotFoundError
from bot.store.credentials import PairingCode, PairingFailure, RemovedHousehold, remember_hub_secret
from bot.store.models import ApiToken, Device, DeviceCategory, Household, TokenRole
from bot.store.repo import issue_token

CODE_DIGITS = 8
CODE_TTL = timedelta(minutes=10)
SOURCE_LIMIT = 20
"""Wrong codes in a row after which a source is locked out."""
GLOBAL_LIMIT = 200
"""Wrong codes from all sources within ``WINDOW`` after which pairing pauses for everyone."""
WINDOW = timedelta(minutes=10)
LOCKOUT = timedelta(minutes=15)
EVERYONE = "*"
LOOKBACK = timedelta(days=1)
"""Codes created this long ago are still recognised, to say "expired" or "used" instead of "wrong"."""

CREDENTIAL_KINDS: dict[str, DeviceCategory] = {
    "speaker": DeviceCategory.SPEAKER,
    "panel": DeviceCategory.PANEL,
    "hub": DeviceCategory.HUB,
}
"""Device kinds that get credentials, and the category they are stored under."""


class PairingLocked(BotError):
    """Too many wrong codes: this source (or everyone) must wait (429 with Retry-After)."""

    code = "pairing_locked"
    status = 429

    def __init__(self, retry_after_s: float):
        minutes = max(1, round(retry_after_s / 60))
        super().__init__(f"配对码错误次数太多，请 {minutes} 分钟后再试", code=self.code, status=self.status)
        self.retry_after_s = retry_after_s


def kind_of(device: Device) -> str:
    """``speaker``, ``panel``, ``hub`` or ``appliance``."""
    for kind, category in CREDENTIAL_KINDS.items():
        if device.category == category.value:
            return kind
    return "appliance"


@dataclass(frozen=True)
class NewCode:
    """A pairing code as shown once to the installer."""

    code: str
    expires_at: datetime
    qr_svg: str

    def to_json(self) -> dict[str, str]:
        """The ``pairing`` object of CONTRACTS.md §5."""
        return {"code": self.code, "expires_at": self.expires_at.isoformat(), "qr_svg": self.qr_svg}


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def qr_svg(text: str) -> str:
    """An SVG QR code of ``text`` (no XML declaration, so it can be inlined in HTML)."""
    out = io.BytesIO()
    segno.make(text, micro=False).save(out, kind="svg", xmldecl=False, scale=4, border=2)
    return out.getvalue().decode("utf-8")


def new_code(session: Session, device: Device, now: datetime) -> NewCode:
    """A fresh code for a device with credentials; its earlier unused codes stop working."""
    if device.id is None or kind_of(device) == "appliance":
        raise InputError("家电不需要配对，只有音箱、中控屏和网关需要", code="not_pairable", status=409)
    session.execute(
        update(PairingCode)
        .where(col(PairingCode.device_id) == device.id, col(PairingCode.used_at).is_(None))
        .values(expires_at=now)
    )
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    salt = secrets.token_hex(16)
    expires = now + CODE_TTL
    session.add(
        PairingCode(
            device_id=device.id, salt=salt, code_hash=_hash(salt, code), created_at=now, expires_at=expires
        )
    )
    session.flush()
    return NewCode(code, expires, qr_svg(code))


@dataclass(frozen=True)
class Paired:
    """A device's new bearer token (shown once)."""

    token: str
    device_id: int
    household_id: int
    kind: str

    def to_json(self) -> dict[str, object]:
        """The body of ``POST /api/v1/pair``."""
        body: dict[str, object] = {
            "token": self.token,
            "device_id": self.device_id,
            "household_id": self.household_id,
            "kind": self.kind,
        }
        if self.kind == "hub":  # MQTT: user hub-<id>, password the token (docs/onboarding.md)
            body["mqtt"] = {"username": f"hub-{self.device_id}", "source": f"hub-{self.device_id}"}
        return body


def check_locked(session: Session, source: str, now: datetime) -> None:
    """PairingLocked when the source or everyone is locked out right now."""
    for key in (source, EVERYONE):
        row = session.get(PairingFailure, key)
        if row is not None and row.locked_until is not None and _utc(row.locked_until) > now:
            raise PairingLocked((_utc(row.locked_until) - now).total_seconds())


def _ascii_digits(text: str) -> bool:
    """Only 0–9 (``isdigit`` alone also accepts 「²」 and other digits ``int`` refuses)."""
    return text.isascii() and text.isdigit()


def exchange(session: Session, raw: object, source: str, now: datetime) -> Paired | BotError:
    """Trade a code for a token, or return the error to answer with (after the caller commits)."""
    check_locked(session, source, now)
    if not isinstance(raw, str) or not _ascii_digits(raw.strip()) or not 6 <= len(raw.strip()) <= 8:
        _failed(session, source, now)
        return InputError("配对码应为 6 到 8 位数字", code="bad_pairing_code")
    code = raw.strip()
    found = _matching(session, code, now)
    if found is None:
        _failed(session, source, now)
        return InputError("配对码不正确，请核对后再试", code="wrong_pairing_code", status=400)
    if found.used_at is not None:
        _failed(session, source, now)
        return InputError("这个配对码已经用过了，请在管理后台重新生成", code="pairing_code_used", status=409)
    if _utc(found.expires_at) <= now:
        _failed(session, source, now)
        return InputError("配对码已过期，请在管理后台重新生成", code="pairing_code_expired", status=410)
    claimed = session.execute(
        update(PairingCode)
        .where(col(PairingCode.id) == found.id, col(PairingCode.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return InputError("这个配对码已经用过了，请在管理后台重新生成", code="pairing_code_used", status=409)
    session.execute(delete(PairingFailure).where(col(PairingFailure.key) == source))
    return _issue(session, found.device_id, now)


def _matching(session: Session, code: str, now: datetime) -> PairingCode | None:
    recent = session.exec(select(PairingCode).where(col(PairingCode.created_at) > now - LOOKBACK)).all()
    for row in recent:
        if hmac.compare_digest(row.code_hash, _hash(row.salt, code)):
            return row
    return None


def _issue(session: Session, device_id: int, now: datetime) -> Paired | BotError:
    device = session.get(Device, device_id)
    household = session.get(Household, device.household_id) if device else None
    if device is None or household is None or household.id is None:
        return NotFoundError("这台设备已被删除", code="device_not_found")
    if session.get(RemovedHousehold, household.id) is not None:
        return NotFoundError("这个家庭已被删除", code="household_not_found")
    revoke_device_tokens(session, device_id, now)
    kind = kind_of(device)
    role = TokenRole.HUB if kind == "hub" else TokenRole.DEVICE
    token = f"{'hub' if kind == 'hub' else 'dev'}-{secrets.token_urlsafe(32)}"
    issue_token(session, token, role, household.tenant_id, device_id, device.name, now)
    if kind == "hub":
        remember_hub_secret(session, device_id, token)
    session.flush()
    return Paired(token, device_id, household.id, kind)


def revoke_device_tokens(session: Session, device_id: int, now: datetime) -> int:
    """Revoke the device's live tokens; returns how many."""
    live = session.exec(
        select(ApiToken).where(ApiToken.device_id == device_id, col(ApiToken.revoked_at).is_(None))
    ).all()
    for row in live:
        row.revoked_at = now
        session.add(row)
    return len(live)


def _failed(session: Session, source: str, now: datetime) -> None:
    _count(session, source, SOURCE_LIMIT, None, now)
    _count(session, EVERYONE, GLOBAL_LIMIT, WINDOW, now)
    session.flush()


def _count(session: Session, key: str, limit: int, window: timedelta | None, now: datetime) -> None:
    row = session.get(PairingFailure, key) or PairingFailure(key=key, window_start=now)
    if window is not None and _utc(row.window_start) + window < now:
        row.failures, row.window_start = 0, now
    row.failures += 1
    if row.failures >= limit:
        row.locked_until, row.failures, row.window_start = now + LOCKOUT, 0, now
    session.add(row)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
