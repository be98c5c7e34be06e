"""Shared pieces of the gateway tests: device headers, a text-only speech stack, a test client."""

from __future__ import annotations

import io
import wave
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.conversation.pipeline import Speech
from bot.gateway.app import create_app
from bot.speech.settings import SpeechSettings

ZHANG = {"Authorization": "Bearer demo-zhang-speaker"}
ZHANG_PANEL = {"Authorization": "Bearer demo-zhang-panel"}
LI = {"Authorization": "Bearer demo-li-speaker"}
DESIGNER = {"Authorization": "Bearer demo-designer"}
OPERATOR = {"Authorization": "Bearer demo-admin"}
"""An admin token: sees every ``/healthz`` component (anonymous callers see only the status)."""

Client = TestClient  # type: ignore[type-arg]


def no_speech() -> Speech:
    """Speech components that are down (the text-only gateway)."""
    return Speech(SpeechSettings(), stt_error="not loaded in this test", tts_error="not loaded in this test")


def wav_frames(data: bytes) -> int:
    """Number of frames of a WAV (fails on anything that is not a WAV)."""
    with wave.open(io.BytesIO(data), "rb") as reader:
        return reader.getnframes()


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
    config = Config(actions_port=1, extra={"gateway": {"health_cache_s": 0, **(gateway or {})}})
    app = create_app(config, engine=engine, dialogue=dialogue, speech=speech or no_speech(), states=states)
    client: Client = await aiohttp_client(app)
    return client
