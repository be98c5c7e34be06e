"""Fakes implementing the real interfaces, for unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.conversation.dialogue import Reply
from bot.conversation.dialogue_state import DialogueState
from bot.conversation.trackers import TrackerEraseError
from bot.errors import DialogueError
from bot.speech.audio import pcm16_to_wav
from bot.speech.stt.base import SttInfo
from bot.speech.tts.base import TtsInfo


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


def silence_wav(seconds: float = 0.3, rate: int = 16000) -> bytes:
    """A WAV of silence."""
    return pcm16_to_wav(bytes(int(rate * seconds) * 2), rate)


@dataclass
class FakeStt:
    """A recogniser that 'hears' the next scripted sentence; partials are its growing prefixes."""

    script: list[str]
    grammars: list[Sequence[str] | None] = field(default_factory=list)

    @property
    def info(self) -> SttInfo:
        return SttInfo("fake", "zh", 16000)

    def start(self, grammar: Sequence[str] | None = None) -> _FakeSttSession:
        self.grammars.append(grammar)
        return _FakeSttSession(self.script.pop(0) if self.script else "")


class _FakeSttSession:
    def __init__(self, text: str):
        self._text = text
        self._fed = 0

    def accept(self, pcm: bytes) -> str | None:
        self._fed += 1
        shown = self._text[: min(len(self._text), self._fed // 3)]
        return " ".join(shown) if self._fed % 3 == 0 and shown else None

    def finish(self) -> str:
        return " ".join(self._text)


@dataclass
class FakeTts:
    """A synthesiser producing one short silent WAV per sentence; records what it was asked to say."""

    said: list[str] = field(default_factory=list)
    paces: list[float] = field(default_factory=list)
    sentence_s: float = 0.1
    """Playing time of each sentence's WAV."""

    @property
    def info(self) -> TtsInfo:
        return TtsInfo("fake", "zh", 16000)

    def synthesize(self, text: str) -> bytes:
        self.said.append(text)
        return silence_wav(self.sentence_s)

    def synthesize_stream(self, text: str, pace: float = 1.0) -> Iterator[bytes]:
        self.said.append(text)
        self.paces.append(pace)
        for part in text.split("。"):
            if part.strip():
                yield silence_wav(self.sentence_s)


@dataclass
class FakeStates:
    """A StateReader answering with a fixed state."""

    state: DialogueState | None = None
    read_for: list[str] = field(default_factory=list)

    async def read(self, sender: str) -> DialogueState | None:
        self.read_for.append(sender)
        return self.state


class RecordingTrackers:
    """A TrackerEraser that records what it was asked to erase (or fails, as Rasa down would)."""

    def __init__(self, fail: bool = False) -> None:
        self.erased: list[str] = []
        self.fail = fail

    async def erase(self, conversation_ids: Sequence[str]) -> None:
        if self.fail:
            raise TrackerEraseError("对话记录暂时无法删除，请稍后再试")
        self.erased += list(conversation_ids)
