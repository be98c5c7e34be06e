"""What the dialogue understood and is waiting for after a turn, read from Rasa's tracker.

After each turn the gateway reads ``GET /conversations/{sender}/tracker?include_events=NONE`` (loopback,
token-protected, no event history): the latest message's intent and entities feed the ``intent``
pipeline event, and the ``awaiting`` slot (the yes/no question the assistant asked) together with the
last card's type picks the recogniser's grammar for the next spoken turn (:func:`grammar_state`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from bot.conversation.grammar import GrammarState
from bot.conversation.rasa_auth import RasaAuth

_LOGGER = logging.getLogger(__name__)

CONFIRM_AWAITING = frozenset({"confirm", "apply", "consent"})
"""``awaiting`` values where a closed yes/no answer is expected. ``delete_data`` is left out on
purpose: an irreversible step is only taken on a freely recognised, genuine yes."""


@dataclass(frozen=True)
class DialogueState:
    """The state of a conversation after its latest turn."""

    intent: str | None = None
    confidence: float | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    awaiting: str | None = None
    """The question the assistant is waiting on (slot ``awaiting``)."""
    card_type: str | None = None
    """Type of the last card the assistant showed."""
    pace: str | None = None
    """Slot ``speech_pace``: "slow" after 「说慢一点」, for the rest of the session."""

    def intent_event(self) -> dict[str, Any]:
        """Data of the ``intent`` pipeline event."""
        entities = [{"entity": e.get("entity"), "value": e.get("value")} for e in self.entities]
        return {"name": self.intent, "confidence": self.confidence, "entities": entities}


def grammar_state(state: DialogueState | None) -> GrammarState | None:
    """The recogniser grammar for the next turn, or None for free recognition."""
    if state is None:
        return None
    if state.awaiting in CONFIRM_AWAITING:
        return GrammarState.CONFIRM
    if state.card_type == "product_choice":
        return GrammarState.PRODUCT
    return None


class StateReader(Protocol):
    """Reads the dialogue state of a conversation (None when it cannot be known)."""

    async def read(self, sender: str) -> DialogueState | None:
        """State after the latest turn of ``sender``."""
        ...


class NoStateReader:
    """Used when the dialogue's API is not reachable with a token: nothing is known."""

    async def read(self, sender: str) -> DialogueState | None:
        """Always None."""
        return None


def state_from_tracker(tracker: dict[str, Any]) -> DialogueState:
    """Rasa's tracker JSON → DialogueState (card type is filled in by the caller)."""
    latest = tracker.get("latest_message") or {}
    intent = latest.get("intent") or {}
    slots = tracker.get("slots") or {}
    awaiting = slots.get("awaiting")
    confidence = intent.get("confidence")
    return DialogueState(
        intent=intent.get("name"),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        entities=[e for e in latest.get("entities") or [] if isinstance(e, dict)],
        awaiting=str(awaiting) if awaiting else None,
        pace=str(slots["speech_pace"]) if slots.get("speech_pace") else None,
    )


class RasaStateReader:
    """The Rasa server's tracker endpoint, without event history (cheap on long conversations)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str, timeout_s: float = 2.0):
        self._http = http
        self._base = base_url.rstrip("/")
        self._auth = RasaAuth(token)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def read(self, sender: str) -> DialogueState | None:
        """The tracker's latest message and slots; None (logged) when Rasa does not answer."""
        url = f"{self._base}/conversations/{sender}/tracker"
        params, headers = {"include_events": "NONE"}, self._auth.headers()
        try:
            async with self._http.get(url, params=params, headers=headers, timeout=self._timeout) as resp:
                body = await resp.json() if resp.status == 200 else None
        except (TimeoutError, aiohttp.ClientError, ValueError) as err:
            _LOGGER.info("tracker not readable: %s", type(err).__name__)
            return None
        return state_from_tracker(body) if isinstance(body, dict) else None
