"""The gateway's credential for Rasa's HTTP API, sent in a header, never in the address.

Rasa 3.6 reads its ``--auth-token`` only from a ``?token=`` query parameter, where access logs and
error reports keep it. Its other check is JWT (sanic-jwt) in ``Authorization: Bearer``. So the
shared secret (``rasa_token``, random per ``bot up``) is Rasa's JWT secret (``--jwt-secret``,
handed over in the environment by ``bot.rasa.serve``; no ``--auth-token``, so a query token is not
accepted at all), and every call carries a short-lived HS256 JWT signed with it, role ``admin``
(Rasa's own rule: an admin may reach every conversation). HS256 is written out here (the app
environment has no JWT library); Rasa verifies it with PyJWT.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

TTL_S = 300.0
"""How long one minted JWT is valid."""
RENEW_S = 60.0
"""A JWT is reused for this long, then a new one is minted."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rasa_jwt(secret: str, now: float, ttl_s: float = TTL_S) -> str:
    """An HS256 JWT Rasa accepts for its HTTP API (``user.role == "admin"``), valid ``ttl_s``."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"user": {"username": "gateway", "role": "admin"}, "exp": int(now + ttl_s)}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode("utf-8"), f"{header}.{payload}".encode("ascii"), hashlib.sha256)
    return f"{header}.{payload}.{_b64(mac.digest())}"


class RasaAuth:
    """``Authorization`` headers for Rasa's HTTP API, renewed before they expire."""

    def __init__(self, secret: str, clock: Callable[[], float] = time.time):
        self._secret = secret
        self._clock = clock
        self._token = ""
        self._minted = float("-inf")

    def headers(self) -> dict[str, str]:
        """The header of one call (none without a secret: Rasa then runs without auth)."""
        if not self._secret:
            return {}
        now = self._clock()
        if now - self._minted >= RENEW_S:
            self._token, self._minted = rasa_jwt(self._secret, now), now
        return {"Authorization": f"Bearer {self._token}"}


def rasa_headers(secret: str) -> dict[str, str]:
    """One call's header (for tools and checks that call Rasa once)."""
    return RasaAuth(secret).headers()
