"""Speech to text for ``transcribe`` + ``audio-start``/``-chunk``/``-stop``: the gateway's recogniser.

Audio in any PCM rate, width and channel count is resampled to 16 kHz mono and fed through the same
VAD-endpointed utterance stream as the gateway's voice turns, in a worker thread. The stream is
bounded: at most the gateway's longest turn of audio, and only a few streams at once per service.
"""

from __future__ import annotations

import numpy as np
from wyoming.audio import AudioChunk, AudioStart

from bot.errors import BotError, InputError
from bot.nlu.normalize import normalize
from bot.speech.audio import MAX_CHANNELS, MIN_RATE, Resampler, decode
from bot.speech.stt.base import SpeechToText
from bot.speech.stt.stream import AsyncUtteranceStream, SttUpdate, UtteranceStream
from bot.speech.vad import VadSettings

MAX_RATE = 48000
"""Highest input rate accepted (as the gateway's voice websocket)."""


class SttBusy(BotError):
    """Every recogniser slot of the service is taken."""

    code = "stt_busy"
    status = 503


class Slots:
    """A count of open transcriptions with a ceiling (each holds a recogniser while it lasts)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.open = 0

    def take(self) -> None:
        """One more open stream, or SttBusy."""
        if self.open >= self.limit:
            raise SttBusy("语音识别正忙，请稍后再试", code="stt_busy")
        self.open += 1

    def give(self) -> None:
        """A stream ended."""
        self.open = max(0, self.open - 1)


class Transcription:
    """One audio stream of a ``transcribe`` request: PCM in, the transcript out."""

    def __init__(self, start: AudioStart, stt: SpeechToText, vad: VadSettings, max_audio_s: float):
        self._format = _checked_format(start.rate, start.width, start.channels)
        self._stream = AsyncUtteranceStream(UtteranceStream(stt, None, vad))
        self._resampler = Resampler(start.rate)
        self._max_samples = int(max_audio_s * start.rate)
        self._samples = 0
        self._finals: list[str] = []

    async def feed(self, chunk: AudioChunk) -> None:
        """Consume one chunk (its format must be the stream's)."""
        if (chunk.rate, chunk.width, chunk.channels) != self._format:
            raise InputError("音频块的格式和 audio-start 不一致", code="bad_audio_format")
        _, width, channels = self._format
        if len(chunk.audio) % (width * channels):
            raise InputError("音频块的字节数和采样格式不符", code="bad_frame")
        self._samples += len(chunk.audio) // (width * channels)
        if self._samples > self._max_samples:
            raise InputError("说话时间太长了，请简短一些", code="audio_too_long", status=413)
        samples = decode(chunk.audio, "pcm", width * 8, channels)
        self._keep(await self._stream.feed(self._resampler.push(samples)))

    async def finish(self) -> str:
        """End of the audio: the recognised text (words joined as for a turn; empty when nothing)."""
        tail = self._resampler.push(np.zeros(0, np.float32), last=True)
        self._keep(await self._stream.feed(tail))
        self._keep(await self._stream.finish())
        return normalize(" ".join(self._finals))

    def _keep(self, updates: list[SttUpdate]) -> None:
        self._finals += [u.text for u in updates if u.final and u.text]


def _checked_format(rate: object, width: object, channels: object) -> tuple[int, int, int]:
    if not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
        raise InputError(f"采样率必须在 {MIN_RATE}–{MAX_RATE} Hz 之间", code="bad_sample_rate")
    if width not in (1, 2, 3, 4):
        raise InputError("采样宽度必须是 1–4 字节", code="bad_sample_width")
    if not isinstance(channels, int) or not 1 <= channels <= MAX_CHANNELS:
        raise InputError(f"声道数必须在 1–{MAX_CHANNELS} 之间", code="bad_channels")
    return rate, int(width), channels
