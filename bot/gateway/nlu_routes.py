"""``POST /api/v1/nlu/parse`` (CONTRACTS.md §3): what the NLU understands, for designers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.errors import BotError
from bot.gateway.keys import DIALOGUE
from bot.gateway.routes import json_body, request_principal
from bot.nlu.normalize import checked_turn_text
from bot.store.models import TokenRole

table = web.RouteTableDef()

PARSE_KEYS = ("text", "intent", "entities", "intent_ranking")
"""The parts of Rasa's parse result a designer sees."""


@table.post("/api/v1/nlu/parse")
async def nlu_parse(request: web.Request) -> web.Response:
    """``{"text"}`` → intent with confidence, normalised entities and ranking (designer token only)."""
    principal = await request_principal(request)
    if principal.role != TokenRole.DESIGNER:
        raise BotError("只有对话设计人员可以调试语义解析", code="forbidden", status=403)
    body = await json_body(request)
    text = checked_turn_text(body.get("text"))
    result = await request.app[DIALOGUE].parse(text)
    return web.json_response(designer_view(result))


def designer_view(result: dict[str, Any]) -> dict[str, Any]:
    """Rasa's parse result without internals (extractor bookkeeping stays, it helps designers)."""
    view = {key: result.get(key) for key in PARSE_KEYS}
    view["entities"] = [
        {k: v for k, v in entity.items() if k != "confidence_entity"}
        for entity in result.get("entities") or []
    ]
    return view
