"""Speculative NLU: the dialogue's NLU runs on the recogniser's stable hypothesis of an utterance while
the endpointer still waits for silence, so that the turn, when its final text is the same, does not
wait for it.

Only the NLU runs ahead (the dialogue's ``parse``: no conversation is touched, no action runs, nothing
is recorded or spoken). The dialogue itself reuses the result when the turn's text is exactly the
parsed one (Rasa: ``bot.rasa.serve``, fix 5); a parse of any other text is thrown away unused. A
speculation that fails costs the turn nothing: the turn parses as usual.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.conversation.dialogue import Dialogue
from bot.errors import BotError
from bot.nlu.normalize import checked_turn_text

_LOGGER = logging.getLogger(__name__)

SETTLE_S = 2.0
"""Longest wait of a turn for the parse of its own text still on its way."""


class Speculation:
    """At most one parse ahead per utterance: the latest stable hypothesis."""

    def __init__(self, dialogue: Dialogue, settle_s: float = SETTLE_S):
        self._dialogue = dialogue
        self._settle_s = settle_s
        self._text: str | None = None
        self._task: asyncio.Task[Any] | None = None
        self.offered = 0
        """Parses started."""
        self.reused = 0
        """Turns whose text had been parsed ahead."""

    def offer(self, hypothesis: str) -> None:
        """Parse ``hypothesis`` (as a turn's text) in the background, unless it already is."""
        try:
            text = checked_turn_text(hypothesis)
        except BotError:
            return  # nothing a turn would send (empty, too long, a command)
        if text == self._text:
            return
        self.drop()
        self._text = text
        self._task = asyncio.create_task(self._parse(text))
        self.offered += 1

    async def settle(self, text: str) -> bool:
        """The turn's text is ``text``: wait (briefly) for a parse of exactly it; any other is dropped.

        True when ``text`` was parsed ahead (the dialogue then reuses that parse)."""
        task, ahead = self._task, self._text
        self._task = self._text = None
        if task is None:
            return False
        if ahead != text:
            _forget(task)
            return False
        try:
            await asyncio.wait_for(asyncio.shield(task), self._settle_s)
        except TimeoutError:
            _forget(task)
            return False
        if task.result() is None:
            return False
        self.reused += 1
        return True

    def drop(self) -> None:
        """The hypothesis is no longer current (speech resumed, the run ended): forget its parse."""
        if self._task is not None:
            _forget(self._task)
        self._task = self._text = None

    async def _parse(self, text: str) -> dict[str, Any] | None:
        try:
            return await self._dialogue.parse(text)
        except BotError as err:
            _LOGGER.info("speculative parse failed (%s): the turn parses itself", err.code)
        except Exception:  # whatever happens here must not reach the turn
            _LOGGER.exception("speculative parse failed: the turn parses itself")
        return None


def _forget(task: asyncio.Task[Any]) -> None:
    """Let a parse finish unobserved (cancelling it would only cost the dialogue a connection)."""
    task.add_done_callback(lambda t: None if t.cancelled() else t.exception())
