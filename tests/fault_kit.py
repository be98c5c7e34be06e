"""Shared assertions of the fault tests: what a user gets when a component fails."""

from __future__ import annotations

from typing import Any

from bot.errors import APOLOGY

DISK_FULL_TRIGGER = (
    "CREATE TRIGGER disk_full BEFORE INSERT ON turn BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END"
)


def assert_apology(status: int, body: dict[str, Any]) -> None:
    """503, ``{"error": …}`` kept, and exactly one ``error`` event saying a short Chinese apology."""
    assert status == 503, body
    assert set(body) == {"error", "events"}, body
    (event,) = body["events"]
    assert event["type"] == "error" and event["data"]["code"] == body["error"]["code"]
    assert event["data"]["message"] == APOLOGY and len(APOLOGY) <= 30


def is_chinese(message: str) -> bool:
    """True when the message has Chinese characters (what a user of the product reads)."""
    return any("\u4e00" <= ch <= "\u9fff" for ch in message)
