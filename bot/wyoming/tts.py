"""Text to speech for ``synthesize``: the gateway's voice, number reading and sentence streaming.

Each sentence is synthesised in a worker thread as soon as the previous one is sent, so the first
audio leaves after the first sentence, as on the voice websocket.
"""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator, Iterator

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event

from bot.speech.tts.base import TextToSpeech, TtsError
from bot.speech.tts.pool import SynthPool

CHUNK_SAMPLES = 2048
"""Samples per ``audio-chunk`` event (about 90 ms at 22 050 Hz)."""


async def synthesize(tts: TextToSpeech, text: str, pool: SynthPool) -> AsyncIterator[Event]:
    """``audio-start``, the chunks of every sentence, ``audio-stop``; TtsError/InputError on failure
    (TtsBusy when the process speaks as many answers as it may already).

    Waiting for the synthesiser runs on ``pool``'s threads, as for the voice websocket.
    """
    slot = pool.acquire()
    try:
        async for event in _events(tts, text, pool):
            yield event
    finally:
        slot.release()


async def _events(tts: TextToSpeech, text: str, pool: SynthPool) -> AsyncIterator[Event]:
    parts: Iterator[bytes] = await pool.run(tts.synthesize_stream, text)
    started = False
    while (wav := await pool.run(next, parts, None)) is not None:
        pcm, rate, width, channels = _frames(wav)
        if not started:
            yield AudioStart(rate=rate, width=width, channels=channels).event()
            started = True
        step = CHUNK_SAMPLES * width * channels
        for at in range(0, len(pcm), step):
            yield AudioChunk(rate=rate, width=width, channels=channels, audio=pcm[at : at + step]).event()
    if not started:
        raise TtsError("语音合成没有产生音频", code="tts_failed")
    yield AudioStop().event()


def _frames(wav: bytes) -> tuple[bytes, int, int, int]:
    with wave.open(io.BytesIO(wav), "rb") as reader:
        return (
            reader.readframes(reader.getnframes()),
            reader.getframerate(),
            reader.getsampwidth(),
            reader.getnchannels(),
        )
