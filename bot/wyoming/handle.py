"""The conversation: a ``transcript`` becomes one turn of our household device at the running gateway.

Going through the gateway's ``POST /api/v1/converse`` with the device's own token keeps consent, the
offer audit and the confirmation rules exactly those of a speaker. Only speech comes back (cards
are left out; binding steps already say where to finish them). A turn the skill does not handle
(``"handled": false``: device commands, chit-chat) becomes ``not-handled`` so Home Assistant's own
agent can take it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from wyoming.asr import Transcript
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled

from bot.errors import APOLOGY, BotError
from bot.nlu.normalize import checked_turn_text
from bot.wyoming.settings import UnknownSatellite, WyomingSettings

_LOGGER = logging.getLogger(__name__)
UNREACHABLE = "家居金融助手暂时连不上，请稍后再试。"


@dataclass(frozen=True)
class Answer:
    """What the skill said to one turn."""

    handled: bool
    text: str
    """The replies' speech, in order (empty when the skill stays silent)."""
    reason: str | None = None
    """Why the skill did not handle the turn (``device_control``, ``out_of_scope``, ``chitchat`` …)."""


class GatewayDialogue:
    """Turns over the running gateway's HTTP API, one aiohttp session for the service's life."""

    def __init__(self, base_url: str, timeout_s: float):
        self._url = base_url.rstrip("/") + "/api/v1/converse"
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._http: aiohttp.ClientSession | None = None

    async def turn(self, token: str, text: str) -> Answer:
        """One text turn as the device behind ``token``; BotError with the gateway's code on failure."""
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with self._http.post(self._url, json={"text": text}, headers=headers) as resp:
                body = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as err:
            _LOGGER.warning("gateway unreachable at %s: %s", self._url, type(err).__name__)
            raise BotError(UNREACHABLE, code="gateway_unreachable", status=503) from err
        outcome = _json(body)
        if status != 200:
            error = outcome.get("error")
            error = error if isinstance(error, dict) else {}
            raise BotError(
                str(error.get("message") or APOLOGY),
                code=str(error.get("code") or "gateway_error"),
                status=status,
            )
        return answer_of(outcome)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._http is not None:
            await self._http.close()
            self._http = None


def answer_of(outcome: dict[str, Any]) -> Answer:
    """The spoken answer of a converse response (``handled`` absent means handled)."""
    replies = outcome.get("replies")
    replies = replies if isinstance(replies, list) else []
    text = "".join(r["text"] for r in replies if isinstance(r, dict) and isinstance(r.get("text"), str))
    handled = outcome.get("handled", True) is not False
    reason = None if handled else str(outcome.get("reason") or "out_of_scope")
    return Answer(handled, text, reason)


async def handle(transcript: Transcript, settings: WyomingSettings, dialogue: GatewayDialogue) -> list[Event]:
    """``handled`` or ``not-handled`` answering a ``transcript`` (after an ``error`` on failure)."""
    context = transcript.context if isinstance(transcript.context, dict) else {}
    reply_context = {"conversation_id": context.get("conversation_id")}
    try:
        token = settings.device_token(_id(context, "satellite_id"), _id(context, "device_id"))
    except UnknownSatellite as err:
        _LOGGER.info("transcript from an unmapped satellite: not handled")
        return [NotHandled(text=err.message, context={**reply_context, "reason": err.code}).event()]
    try:
        answer = await dialogue.turn(token, checked_turn_text(transcript.text))
    except BotError as err:
        spoken = err.message if err.status < 500 or _is_chinese(err.message) else APOLOGY
        return [
            Error(text=spoken, code=err.code).event(),
            NotHandled(text=spoken, context={**reply_context, "reason": err.code}).event(),
        ]
    if answer.handled:
        return [Handled(text=answer.text, context=reply_context).event()]
    return [NotHandled(text=answer.text or None, context={**reply_context, "reason": answer.reason}).event()]


def _id(context: dict[str, Any], key: str) -> str | None:
    value = context.get(key)
    return value if isinstance(value, str) and value else None


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
