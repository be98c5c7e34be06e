"""Phone links: the QR on the panel opens a phone page through a single-use, short-lived,
unguessable token bound to one application (only its SHA-256 is stored).

Opening the page does not use the link; confirming or cancelling on it does. A used, expired or
unknown link opens nothing and says why.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.errors import BotError, NotFoundError
from bot.store.journey import PhoneLink

LINK_TTL = timedelta(minutes=10)
"""A phone link opens the page for this long after the QR was shown."""
LINK_TTL_TEXT = "10分钟"
"""``LINK_TTL`` as the panel says it."""
TOKEN_BYTES = 24
"""192 random bits, URL-safe (32 characters)."""


class PhoneLinkError(BotError):
    """A link that cannot be used (any more)."""

    code = "phone_link_invalid"
    status = 410


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def mint(session: Session, application_id: int, now: datetime, ttl: timedelta = LINK_TTL) -> str:
    """A new link token for the application (the caller commits); earlier unused ones stay valid."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        PhoneLink(
            token_hash=_hash(token), application_id=application_id, created_at=now, expires_at=now + ttl
        )
    )
    return token


def resolve(session: Session, token: str, now: datetime, *, lock: bool = False) -> PhoneLink:
    """The live link of ``token``; 404 unknown, 410 used or expired (with a Chinese message)."""
    if not 20 <= len(token) <= 64:
        raise NotFoundError("链接无效，请在中控屏上重新扫码", code="phone_link_unknown")
    query = select(PhoneLink).where(col(PhoneLink.token_hash) == _hash(token))
    link = session.exec(query.with_for_update() if lock else query).first()
    if link is None:
        raise NotFoundError("链接无效，请在中控屏上重新扫码", code="phone_link_unknown")
    if link.used_at is not None:
        raise PhoneLinkError("这个链接已经用过了，请在中控屏上重新扫码", code="phone_link_used")
    if now >= link.expires_at:
        raise PhoneLinkError("链接已过期，请在中控屏上重新扫码", code="phone_link_expired")
    return link


def use(session: Session, link: PhoneLink, now: datetime) -> None:
    """Mark the link used (committed with the change it made)."""
    link.used_at = now
    session.add(link)
