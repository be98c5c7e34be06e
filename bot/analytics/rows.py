"""Map one message of Rasa's event broker to the analytics rows it stands for (pure, no I/O).

Rasa 3.6's ``pika`` broker publishes each new tracker event as the JSON body
``{"sender_id": ..., "event": ..., "timestamp": ..., **event}`` (``rasa.core.tracker_store``,
``_stream_new_events``). Recorded are:

- ``user`` events → a ``turn`` row with the intent name and confidence (never the text);
- ``bot`` events → a ``turn`` row with the response name (``metadata.utter_action``) and card type,
  plus an ``offer`` row when the card (``data.custom``) carries an ``offer_id``.

Every other event type (``action``, ``slot``, ``session_started`` …) and the start-up probe
conversations of ``bot up`` (``bot.store.repo.PROBE_PREFIX``) are acknowledged without a row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.errors import InputError
from bot.store.repo import PROBE_PREFIX

RECORDED_EVENTS = ("user", "bot")


class BadEventError(InputError):
    """A broker message that is not a Rasa tracker event."""

    code = "bad_event"


@dataclass(frozen=True)
class EventRow:
    """One analytics row, ready to store."""

    event_key: str
    """Idempotency key: equal for every redelivery of the same event."""
    kind: str
    """``turn`` or ``offer``."""
    event: str
    conversation_id: str
    occurred_at: datetime
    intent: str | None = None
    confidence: float | None = None
    action: str | None = None
    card_type: str | None = None
    offer_id: str | None = None


def decode(body: bytes) -> dict[str, Any]:
    """The JSON object of a broker message; BadEventError when it is not one."""
    try:
        event = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadEventError(f"不是 JSON 事件: {err}") from err
    if not isinstance(event, dict):
        raise BadEventError("事件必须是 JSON 对象")
    return event


def rows_for(body: bytes) -> list[EventRow]:
    """The rows one broker message stands for (empty for event types not recorded)."""
    event = decode(body)
    kind = event.get("event")
    if kind not in RECORDED_EVENTS:
        return []
    sender, occurred = _envelope(event)
    if sender.startswith(PROBE_PREFIX):
        return []
    digest = body_digest(event)
    if kind == "user":
        return [_user_row(event, sender, occurred, digest)]
    return _bot_rows(event, sender, occurred, digest)


def body_digest(event: dict[str, Any]) -> str:
    """sha256 of the event as canonical JSON (key order and spacing do not matter)."""
    canonical = json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def event_key(sender: str, event: str, timestamp: float, row_kind: str, digest: str) -> str:
    """Idempotency key of one row: sender + event type + timestamp + row kind + body hash."""
    raw = "\x1f".join((sender, event, repr(timestamp), row_kind, digest))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _envelope(event: dict[str, Any]) -> tuple[str, float]:
    sender = event.get("sender_id")
    stamp = event.get("timestamp")
    if not isinstance(sender, str) or not sender:
        raise BadEventError("事件缺少 sender_id")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        raise BadEventError("事件缺少 timestamp")
    return sender, float(stamp)


def _when(stamp: float) -> datetime:
    try:
        return datetime.fromtimestamp(stamp, UTC)
    except (OverflowError, OSError, ValueError) as err:
        raise BadEventError(f"timestamp 无效: {stamp}") from err


def _user_row(event: dict[str, Any], sender: str, stamp: float, digest: str) -> EventRow:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    name = intent.get("name") if isinstance(intent, dict) else None
    confidence = intent.get("confidence") if isinstance(intent, dict) else None
    return EventRow(
        event_key=event_key(sender, "user", stamp, "turn", digest),
        kind="turn",
        event="user",
        conversation_id=sender[:80],
        occurred_at=_when(stamp),
        intent=_short(name, 80),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
    )


def _bot_rows(event: dict[str, Any], sender: str, stamp: float, digest: str) -> list[EventRow]:
    card = _card(event)
    metadata = event.get("metadata")
    action = metadata.get("utter_action") if isinstance(metadata, dict) else None
    turn = EventRow(
        event_key=event_key(sender, "bot", stamp, "turn", digest),
        kind="turn",
        event="bot",
        conversation_id=sender[:80],
        occurred_at=_when(stamp),
        action=_short(action, 80),
        card_type=_short(card.get("type"), 40),
    )
    offer_id = card.get("offer_id")
    if offer_id is None or offer_id == "":
        return [turn]
    offer = replace(
        turn,
        event_key=event_key(sender, "bot", stamp, "offer", digest),
        kind="offer",
        action=None,
        offer_id=str(offer_id)[:40],
    )
    return [turn, offer]


def _card(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    custom = data.get("custom") if isinstance(data, dict) else None
    return custom if isinstance(custom, dict) else {}


def _short(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None
