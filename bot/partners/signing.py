"""HMAC-SHA256 signatures of partner messages, both ways (deliveries out, decisions in).

Header ``X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``. The timestamp
is signed with the body, so a captured message cannot be replayed after ``TOLERANCE_S``; inside
that window the idempotency key makes a replay a no-op.
"""

from __future__ import annotations

import hashlib
import hmac

from bot.errors import AuthError

HEADER = "X-Signature"
TOLERANCE_S = 300
"""How far a signature's timestamp may be from now (either way)."""


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Signature`` header value of ``body`` at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: float) -> None:
    """Raise AuthError (401) unless ``header`` signs ``body`` with ``secret`` recently."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    raw_t, given = parts.get("t", ""), parts.get("v1", "")
    if not (raw_t.isascii() and raw_t.isdigit()) or len(raw_t) > 12 or not given:  # not 「²」
        raise AuthError("缺少或无法解析签名", code="signature_missing")
    timestamp = int(raw_t)
    if abs(now - timestamp) > TOLERANCE_S:
        raise AuthError("签名已过期（时间戳超出允许范围）", code="signature_stale")
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise AuthError("签名不正确", code="signature_invalid")
