"""The dialogue engine behind a small interface; Rasa's REST channel is the real one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from bot.conversation.rasa_auth import RasaAuth
from bot.errors import APOLOGY, DialogueError

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """One thing the assistant says, with the panel card that goes with it."""

    text: str
    card: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form of CONTRACTS.md §3."""
        return {"text": self.text, "card": self.card}


class Dialogue(Protocol):
    """Takes one user utterance of a conversation, returns the assistant's replies."""

    async def respond(self, sender: str, text: str) -> list[Reply]:
        """Run one turn."""
        ...

    async def health(self) -> dict[str, Any]:
        """Component health, raising DialogueError when down."""
        ...

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only: intent, confidence, entities and ranking of one (normalised) utterance."""
        ...


def merge_messages(messages: list[dict[str, Any]]) -> list[Reply]:
    """Rasa sends a response's text and its custom payload as two messages: join them again."""
    replies: list[Reply] = []
    for message in messages:
        text, card = message.get("text"), message.get("custom")
        card = card if isinstance(card, dict) else None
        if text is not None:
            replies.append(Reply(str(text), card))
        elif card is not None and replies and replies[-1].card is None:
            replies[-1] = Reply(replies[-1].text, card)
        elif card is not None:
            replies.append(Reply("", card))
    return replies


class RasaDialogue:
    """Rasa 3.6 server on loopback: REST channel for turns, token-protected HTTP API for status."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str, timeout_s: float):
        self._http = http
        self._base = base_url.rstrip("/")
        self._auth = RasaAuth(token)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def respond(self, sender: str, text: str) -> list[Reply]:
        """Post the utterance to the REST channel and merge the answer into replies."""
        url = f"{self._base}/webhooks/rest/webhook"
        try:
            async with self._http.post(
                url, json={"sender": sender, "message": text}, timeout=self._timeout
            ) as resp:
                if resp.status != 200:
                    raise DialogueError(APOLOGY, code="dialogue_failed")
                messages = await resp.json()
        except (TimeoutError, aiohttp.ClientError) as err:
            _LOGGER.warning("Rasa unreachable: %s", type(err).__name__)
            raise DialogueError(APOLOGY) from err
        replies = merge_messages(messages if isinstance(messages, list) else [])
        if not replies:
            raise DialogueError(APOLOGY, code="dialogue_no_reply")
        return replies

    async def parse(self, text: str) -> dict[str, Any]:
        """Rasa's token-protected /model/parse; no conversation is touched."""
        try:
            async with self._http.post(
                f"{self._base}/model/parse",
                headers=self._auth.headers(),
                json={"text": text},
                timeout=self._timeout,
            ) as resp:
                body = await resp.json() if resp.status == 200 else None
        except (TimeoutError, aiohttp.ClientError, ValueError) as err:
            _LOGGER.warning("Rasa parse failed: %s", type(err).__name__)
            raise DialogueError(APOLOGY) from err
        if not isinstance(body, dict) or not isinstance(body.get("intent"), dict):
            raise DialogueError(APOLOGY, code="nlu_failed")
        return body

    async def health(self) -> dict[str, Any]:
        """Rasa's /status: which model is loaded."""
        try:
            async with self._http.get(
                f"{self._base}/status", headers=self._auth.headers(), timeout=self._timeout
            ) as resp:
                body = await resp.json() if resp.status == 200 else {}
        except (TimeoutError, aiohttp.ClientError) as err:
            raise DialogueError("Rasa server unreachable") from err
        if not body.get("model_file"):
            raise DialogueError("Rasa server has no model loaded")
        return {"model": str(body["model_file"]).rsplit("/", 1)[-1]}
