"""Talk to the gateway's designer NLU route from the command line, benchmarks and tests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from bot.errors import BotError

DESIGNER_TOKEN = "demo-designer"
"""The designer token the demo seed creates (bot.seed.DESIGNER_TOKEN)."""


def parse_via_gateway(base_url: str, token: str, text: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """POST /api/v1/nlu/parse; gateway errors come back as BotError with the gateway's code."""
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/api/v1/nlu/parse",
        data=json.dumps({"text": text}, ensure_ascii=False).encode("utf-8"),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            body: dict[str, Any] = json.loads(resp.read())
            return body
    except urllib.error.HTTPError as err:
        error = _error_of(err.read())
        raise BotError(
            error.get("message", str(err)), code=error.get("code", "http_error"), status=err.code
        ) from err
    except (urllib.error.URLError, OSError) as err:
        raise BotError(
            f"cannot reach the gateway at {base_url}: is `bot up` (or `make demo`) running?",
            code="gateway_unreachable",
        ) from err


def _error_of(raw: bytes) -> dict[str, str]:
    try:
        error = json.loads(raw).get("error", {})
        return error if isinstance(error, dict) else {}
    except (ValueError, AttributeError):
        return {}


def render_parse(result: dict[str, Any]) -> str:
    """One line for the intent, one per entity: what a designer needs to judge a sentence."""
    intent = result.get("intent") or {}
    lines = [f"文本: {result.get('text')}", f"意图: {intent.get('name')} ({intent.get('confidence', 0):.3f})"]
    for entity in result.get("entities") or []:
        lines.append(
            f"实体: {entity.get('entity')} = {entity.get('value')!r}"
            f"  ← “{_span(result, entity)}” [{entity.get('extractor', '')}]"
        )
    ranking = result.get("intent_ranking") or []
    if len(ranking) > 1:
        lines.append(
            "候选: " + ", ".join(f"{r.get('name')} {r.get('confidence', 0):.2f}" for r in ranking[1:4])
        )
    return "\n".join(lines)


def _span(result: dict[str, Any], entity: dict[str, Any]) -> str:
    text = str(result.get("text") or "")
    try:
        return text[int(entity["start"]) : int(entity["end"])]
    except (KeyError, TypeError, ValueError):
        return ""
