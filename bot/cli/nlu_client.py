"""Talk to the gateway's designer NLU route from the command line, benchmarks and tests."""

from __future__ import annotations

from typing import Any

from bot.cli.http_client import post_json

DESIGNER_TOKEN = "demo-designer"
"""The designer token the demo seed creates (bot.seed.demo.DESIGNER_TOKEN)."""


def parse_via_gateway(base_url: str, token: str, text: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """POST /api/v1/nlu/parse; gateway errors come back as BotError with the gateway's code."""
    return post_json(base_url, "/api/v1/nlu/parse", token, {"text": text}, timeout_s)


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
