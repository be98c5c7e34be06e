"""Reading Wyoming events with bounds: a garbage line or an oversized block is an error, never a big buffer.

The ``wyoming`` package's own reader trusts the lengths a peer announces (``data_length``,
``payload_length``) and reads that many bytes; a service facing a network checks them first.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wyoming.event import Event

from bot.errors import InputError


class WireError(InputError):
    """The peer sent something that is not a Wyoming event (or one larger than allowed)."""

    code = "bad_event"


async def read_event(reader: asyncio.StreamReader, max_bytes: int) -> Event | None:
    """The next event; None at a clean end of the stream; WireError for anything malformed."""
    line = b""
    while not line.strip():
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as err:
            if err.partial.strip():
                raise WireError("事件不完整，连接已中断", code="bad_event") from err
            return None
        except asyncio.LimitOverrunError as err:
            raise WireError("事件头太大", code="event_too_large", status=413) from err
    header = _object(line)
    kind = header.get("type")
    if not isinstance(kind, str) or not kind:
        raise WireError("事件缺少 type", code="bad_event")
    data = _object(header.get("data") or {}, already=True)
    extra = await _block(reader, header.get("data_length"), max_bytes)
    if extra:
        data.update(_object(extra))
    payload = await _block(reader, header.get("payload_length"), max_bytes)
    return Event(type=kind, data=data, payload=payload or None)


def _object(raw: Any, already: bool = False) -> dict[str, Any]:
    try:
        value = raw if already else json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WireError("不是合法的 Wyoming 事件（JSON 无法解析）", code="bad_event") from err
    if not isinstance(value, dict):
        raise WireError("Wyoming 事件必须是 JSON 对象", code="bad_event")
    return value


async def _block(reader: asyncio.StreamReader, length: Any, max_bytes: int) -> bytes:
    if length is None or length == 0:
        return b""
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise WireError("事件的长度字段不正确", code="bad_event")
    if length > max_bytes:
        raise WireError(f"事件太大（最多 {max_bytes // 1024} KB）", code="event_too_large", status=413)
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as err:
        raise WireError("事件不完整，连接已中断", code="bad_event") from err
