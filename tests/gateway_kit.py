"""Shared pieces of the gateway tests: demo database, device headers, fakes of the speech interfaces."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.conversation.dialogue_state import DialogueState
from bot.conversation.pipeline import Speech
from bot.gateway.app import create_app
from bot.seed.demo import seed_demo
from bot.speech.audio import pcm16_to_wav
from bot.speech.settings import SpeechSettings
from bot.speech.stt.base import SttInfo
from bot.speech.tts.base import TtsInfo
from bot.store.db import make_engine, utcnow
from bot.store.tables import metadata

ZHANG = {"Authorization": "Bearer demo-zhang-speaker"}
ZHANG_PANEL = {"Authorization": "Bearer demo-zhang-panel"}
LI = {"Authorization": "Bearer demo-li-speaker"}
DESIGNER = {"Authorization": "Bearer demo-designer"}

Client = TestClient  # type: ignore[type-arg]


def demo_engine(folder: Path) -> Engine:
    """A SQLite file with the demo seed (two households, three devices with tokens, catalog)."""
    engine = make_engine(f"sqlite:///{folder / 'gw.db'}")
    metadata.create_all(engine)
    seed_demo(engine, utcnow(), days=3)
    return engine


def no_speech() -> Speech:
    """Speech components that are down (the text-only gateway)."""
    return Speech(SpeechSettings(), stt_error="not loaded in this test", tts_error="not loaded in this test")


def silence_wav(seconds: float = 0.3, rate: int = 16000) -> bytes:
    """A WAV of silence."""
    return pcm16_to_wav(bytes(int(rate * seconds) * 2), rate)


def wav_frames(data: bytes) -> int:
    """Number of frames of a WAV (fails on anything that is not a WAV)."""
    with wave.open(io.BytesIO(data), "rb") as reader:
        return reader.getnframes()


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

    @property
    def info(self) -> TtsInfo:
        return TtsInfo("fake", "zh", 16000)

    def synthesize(self, text: str) -> bytes:
        self.said.append(text)
        return silence_wav(0.1)

    def synthesize_stream(self, text: str) -> Iterator[bytes]:
        self.said.append(text)
        for part in text.split("。"):
            if part.strip():
                yield silence_wav(0.1)


@dataclass
class FakeStates:
    """A StateReader answering with a fixed state."""

    state: DialogueState | None = None
    read_for: list[str] = field(default_factory=list)

    async def read(self, sender: str) -> DialogueState | None:
        self.read_for.append(sender)
        return self.state


async def make_client(
    aiohttp_client: Any,
    engine: Engine,
    dialogue: Any,
    *,
    speech: Speech | None = None,
    states: Any = None,
    gateway: dict[str, Any] | None = None,
) -> Client:
    """A test client of a gateway with injected database, dialogue and speech."""
    config = Config(actions_port=1, extra={"gateway": gateway or {}})
    app = create_app(config, engine=engine, dialogue=dialogue, speech=speech or no_speech(), states=states)
    client: Client = await aiohttp_client(app)
    return client
