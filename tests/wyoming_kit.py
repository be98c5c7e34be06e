"""Drive a Wyoming service with the ``wyoming`` package's own client, in Home Assistant's event order."""

from __future__ import annotations

import io
import wave
from typing import Any

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeVoice

READ_TIMEOUT_S = 120.0
"""A generous bound so a broken server fails the test instead of hanging it (not a speed check)."""
CHUNK_BYTES = 2048


def client(port: int) -> AsyncTcpClient:
    """A client of the service on loopback."""
    return AsyncTcpClient("127.0.0.1", port, connect_timeout=10, read_timeout=READ_TIMEOUT_S)


def wav_pcm(wav: bytes) -> tuple[bytes, int]:
    """The samples and rate of a mono PCM16 WAV."""
    with wave.open(io.BytesIO(wav), "rb") as reader:
        return reader.readframes(reader.getnframes()), reader.getframerate()


async def describe(port: int) -> Info:
    """``describe`` → ``info``."""
    async with client(port) as c:
        await c.write_event(Describe().event())
        event = await c.read_event()
    assert event is not None and Info.is_type(event.type), event
    return Info.from_event(event)


async def transcribe(port: int, pcm: bytes, rate: int, language: str = "zh-cn") -> list[Event]:
    """Home Assistant's STT request: transcribe, audio-start, chunks, audio-stop; events until the answer."""
    async with client(port) as c:
        await c.write_event(Transcribe(language=language).event())
        await c.write_event(AudioStart(rate=rate, width=2, channels=1).event())
        for at in range(0, len(pcm), CHUNK_BYTES):
            chunk = AudioChunk(rate=rate, width=2, channels=1, audio=pcm[at : at + CHUNK_BYTES])
            await c.write_event(chunk.event())
        await c.write_event(AudioStop().event())
        return await read_until(c, ("transcript", "error"))


async def synthesize(port: int, text: str, voice: str | None = None) -> list[Event]:
    """Home Assistant's TTS request: ``synthesize``; events until ``audio-stop`` (or an error)."""
    async with client(port) as c:
        request = Synthesize(text=text, voice=SynthesizeVoice(name=voice) if voice else None)
        await c.write_event(request.event())
        return await read_until(c, ("audio-stop", "error"))


async def converse(port: int, text: str, **context: Any) -> list[Event]:
    """Home Assistant's conversation agent: a ``transcript`` with a context; events until the answer."""
    async with client(port) as c:
        await c.write_event(Transcript(text=text, context=context or None, language="zh-cn").event())
        return await read_until(c, ("handled", "not-handled"))


async def read_until(c: AsyncTcpClient, last: tuple[str, ...]) -> list[Event]:
    """Events until one of type ``last`` (or the server closing the connection)."""
    events: list[Event] = []
    while (event := await c.read_event()) is not None:
        events.append(event)
        if event.type in last:
            break
    return events


def answer(events: list[Event]) -> Event:
    """The last event (the answer), with the types of all of them in the failure message."""
    assert events, "the server closed without answering"
    return events[-1]
