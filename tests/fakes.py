"""Fakes implementing the real interfaces, for unit tests."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.conversation.dialogue import Reply
from bot.errors import DialogueError


class FakeDialogue:
    """A Dialogue that echoes, records senders and how many turns overlapped."""

    def __init__(self, delay_s: float = 0.0, down: bool = False):
        self.calls: list[tuple[str, str]] = []
        self.parsed: list[str] = []
        self.delay_s = delay_s
        self.down = down
        self.active = 0
        self.max_active = 0

    async def respond(self, sender: str, text: str) -> list[Reply]:
        """Echo the text back after an optional delay."""
        if self.down:
            raise DialogueError("抱歉，系统开小差了，请稍后再试。")
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await asyncio.sleep(self.delay_s)
            self.calls.append((sender, text))
            return [Reply(f"echo:{text}", {"type": "echo", "title": text})]
        finally:
            self.active -= 1

    async def parse(self, text: str) -> dict[str, Any]:
        """A parse result in Rasa's shape: intent ``echo``, no entities; records the text."""
        if self.down:
            raise DialogueError("抱歉，系统开小差了，请稍后再试。")
        self.parsed.append(text)
        intent = {"name": "echo", "confidence": 1.0}
        return {"text": text, "intent": intent, "entities": [], "intent_ranking": [intent]}

    async def health(self) -> dict[str, Any]:
        """Healthy unless down."""
        if self.down:
            raise DialogueError("Rasa server unreachable")
        return {"model": "fake"}
