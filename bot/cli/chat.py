"""``bot chat``: talk to a running gateway from the terminal (one-shot or interactive)."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from bot.cli.http_client import post_json
from bot.errors import BotError


def converse(base_url: str, token: str, text: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """POST one text turn; gateway errors come back as BotError with the gateway's code."""
    return post_json(base_url, "/api/v1/converse", token, {"text": text}, timeout_s)


def render(outcome: dict[str, Any], out: TextIO) -> None:
    """Print the replies, and a one-line summary of each card."""
    for reply in outcome.get("replies", []):
        if reply.get("text"):
            print(f"助手: {reply['text']}", file=out)
        card = reply.get("card")
        if card:
            details = ", ".join(f"{k}={card[k]}" for k in ("kwh", "cost") if k in card)
            print(f"  [卡片 {card.get('type')}] {card.get('title', '')} {details}".rstrip(), file=out)


def interactive(base_url: str, token: str, as_json: bool, stdin: TextIO, out: TextIO) -> int:
    """Read lines until EOF or 退出; print each answer."""
    print("输入问题并回车（Ctrl-D 结束）", file=out)
    for line in stdin:
        text = line.strip()
        if not text:
            continue
        try:
            outcome = converse(base_url, token, text)
        except BotError as err:
            print(f"错误 [{err.code}]: {err.message}", file=out)
            continue
        if as_json:
            print(json.dumps(outcome, ensure_ascii=False), file=out)
        else:
            render(outcome, out)
    return 0


def one_shot(base_url: str, token: str, text: str, as_json: bool) -> int:
    """Send one turn and print the answer."""
    outcome = converse(base_url, token, text)
    if as_json:
        print(json.dumps(outcome, ensure_ascii=False, indent=2))
    else:
        render(outcome, sys.stdout)
    return 0
