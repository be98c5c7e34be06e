"""A small JSON client for the gateway API, shared by the command-line tools (stdlib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from bot.errors import BotError


def post_json(base_url: str, path: str, token: str, body: Any, timeout_s: float = 30.0) -> dict[str, Any]:
    """POST ``body`` as JSON with a bearer token; the JSON answer."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return post(base_url, path, token, data, "application/json", timeout_s)


def post(
    base_url: str, path: str, token: str, data: bytes, content_type: str, timeout_s: float = 30.0
) -> dict[str, Any]:
    """POST raw bytes with a bearer token; gateway errors come back as BotError with its code."""
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
        raise BotError(
            error.get("message", str(err)), code=error.get("code", "http_error"), status=err.code
        ) from err
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
