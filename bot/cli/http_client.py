"""A small JSON client for the gateway API, shared by the command-line tools (stdlib only)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from bot.errors import BotError


def post_json(base_url: str, path: str, token: str, body: Any, timeout_s: float = 30.0) -> dict[str, Any]:
    """POST ``body`` as JSON with a bearer token; the JSON answer."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return post(base_url, path, token, data, "application/json", timeout_s)


MAX_WAIT_S = 120.0
"""How long one call waits in all for a rate limit (``429`` with ``Retry-After``) before giving up."""


def post(
    base_url: str, path: str, token: str, data: bytes, content_type: str, timeout_s: float = 30.0
) -> dict[str, Any]:
    """POST raw bytes with a bearer token; gateway errors come back as BotError with its code. A rate
    limit is waited out as its ``Retry-After`` says (a bulk tool such as ``bot nlu eval`` then runs
    at the gateway's pace), for at most ``MAX_WAIT_S`` in all."""
    waited = 0.0
    while True:
        try:
            return _post_once(base_url, path, token, data, content_type, timeout_s)
        except _Limited as limited:
            if waited + limited.retry_after_s > MAX_WAIT_S:
                raise limited.error from None
            time.sleep(limited.retry_after_s)
            waited += limited.retry_after_s


class _Limited(Exception):
    def __init__(self, error: BotError, retry_after_s: float):
        super().__init__(error.message)
        self.error, self.retry_after_s = error, retry_after_s


def _post_once(
    base_url: str, path: str, token: str, data: bytes, content_type: str, timeout_s: float
) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}{path}",
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            answer: dict[str, Any] = json.loads(resp.read())
            return answer
    except urllib.error.HTTPError as err:
        error = error_of(err.read())
        failure = BotError(
            error.get("message", str(err)), code=error.get("code", "http_error"), status=err.code
        )
        retry_after = err.headers.get("Retry-After", "") if err.headers is not None else ""
        if err.code == 429 and retry_after.isascii() and retry_after.isdigit():
            raise _Limited(failure, float(retry_after)) from err
        raise failure from err
    except (urllib.error.URLError, OSError) as err:
        raise BotError(
            f"cannot reach the gateway at {base_url}: is `bot up` (or `make demo`) running?",
            code="gateway_unreachable",
        ) from err


def error_of(raw: bytes) -> dict[str, str]:
    """The ``error`` object of a gateway error body (empty when the body is not one)."""
    try:
        error = json.loads(raw).get("error", {})
        return error if isinstance(error, dict) else {}
    except (ValueError, AttributeError):
        return {}
