"""``bot voice``: one spoken turn against the running gateway, from a WAV file or the microphone.

By default the WAV goes to the gateway's ``POST /api/v1/converse/audio`` (:class:`AudioTurn`: the
gateway recognises it). With a local model or grammar (``--model``/``--grammar``) the turn is
transcribed here and sent as text (:class:`TextTurn`), e.g. to try a model before provisioning it on
the gateway. Replies are spoken with the local synthesiser, into a WAV file or to the speaker.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from bot.cli.chat import converse
from bot.cli.http_client import post
from bot.errors import BotError, InputError
from bot.nlu.normalize import normalize
from bot.speech.audio import SAMPLE_RATE, pcm16_to_wav
from bot.speech.stt.base import SpeechToText
from bot.speech.stt.stream import transcribe_wav
from bot.speech.vad import Endpointer, VadEventType, VadSettings
from bot.speech.wake import WakeSpotter


class AudioDeviceError(BotError):
    """No usable microphone or speaker."""

    code = "no_audio_device"
    status = 503


@dataclass(frozen=True)
class VoiceOutcome:
    """What one spoken turn produced."""

    transcript: str
    replies: list[dict[str, Any]]

    @property
    def reply_text(self) -> str:
        """The spoken part of the replies."""
        return "".join(r["text"] for r in self.replies if r.get("text"))


class Transport(Protocol):
    """Sends one recorded utterance to the gateway."""

    def send(self, wav: bytes) -> VoiceOutcome:
        """The gateway's outcome for the utterance."""
        ...


class TextTurn:
    """Transcribe locally, send the transcript as a text turn."""

    def __init__(
        self,
        base_url: str,
        token: str,
        stt: SpeechToText,
        grammar: Sequence[str] | None = None,
        vad: VadSettings | None = None,
    ):
        self._url, self._token, self._stt, self._grammar, self._vad = base_url, token, stt, grammar, vad

    def send(self, wav: bytes) -> VoiceOutcome:
        """Transcribe, then ``POST /api/v1/converse``."""
        heard = transcribe_wav(self._stt, io.BytesIO(wav), self._grammar, self._vad)
        transcript = " ".join(normalize(u) for u in heard.utterances)
        if not transcript:
            raise InputError("没有听清，请再说一遍", code="no_speech")
        outcome = converse(self._url, self._token, transcript)
        return VoiceOutcome(transcript, list(outcome.get("replies", [])))


class AudioTurn:
    """Send the audio itself (``POST /api/v1/converse/audio``); the gateway transcribes."""

    def __init__(self, base_url: str, token: str, timeout_s: float = 30.0):
        self._url, self._token, self._timeout = base_url, token, timeout_s

    def send(self, wav: bytes) -> VoiceOutcome:
        """The gateway's transcript and replies."""
        body = post(self._url, "/api/v1/converse/audio", self._token, wav, "audio/wav", self._timeout)
        return VoiceOutcome(str(body.get("transcript", "")), list(body.get("replies", [])))


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as err:
        raise AudioDeviceError(
            "没有音频设备支持：PortAudio 未安装（Debian: apt-get install libportaudio2）；"
            "请改用 --in/--out 文件"
        ) from err
    return sounddevice


def _check_device(sd: Any, kind: str, label: str) -> None:
    try:
        sd.query_devices(kind=kind)
    except Exception as err:
        raise AudioDeviceError(
            f"没有可用的{label}；请改用{'--in' if kind == 'input' else '--out'} 文件"
        ) from err


def ensure_speaker() -> None:
    """AudioDeviceError now, before any work, when nothing can play sound."""
    _check_device(_sounddevice(), "output", "扬声器")


def wait_for_wake(spotter: WakeSpotter, read: Callable[[], bytes], max_s: float | None = None) -> bool:
    """Feed microphone blocks (``read``) to the spotter until the wake phrase; False at ``max_s``."""
    while max_s is None or spotter.stream_ms < max_s * 1000:
        block = read()
        if not block:
            return False
        if spotter.feed(block):
            return True
    return False


def wait_for_wake_on_mic(spotter: WakeSpotter) -> None:
    """Listen on the default microphone until the wake phrase is said."""
    sd = _sounddevice()
    _check_device(sd, "input", "麦克风")
    block = SAMPLE_RATE // 10
    with sd.RawInputStream(samplerate=SAMPLE_RATE, channels=1, dtype="int16", blocksize=block) as mic:
        wait_for_wake(spotter, lambda: bytes(mic.read(block)[0]))


def record_utterance(vad: VadSettings | None = None, max_s: float = 15.0) -> bytes:
    """Record from the default microphone until the end of speech; returns a 16 kHz WAV."""
    sd = _sounddevice()
    _check_device(sd, "input", "麦克风")
    endpointer = Endpointer(vad)
    pcm = bytearray()
    block = SAMPLE_RATE // 10
    with sd.RawInputStream(samplerate=SAMPLE_RATE, channels=1, dtype="int16", blocksize=block) as mic:
        while len(pcm) < max_s * SAMPLE_RATE * 2:
            data, _overflow = mic.read(block)
            pcm += bytes(data)
            if any(e.type is VadEventType.END for e in endpointer.feed(bytes(data))):
                break
    return pcm16_to_wav(bytes(pcm))


def play(wav: bytes) -> None:
    """Play a mono PCM16 WAV on the default speaker and wait until it ends."""
    sd = _sounddevice()
    _check_device(sd, "output", "扬声器")
    with wave.open(io.BytesIO(wav), "rb") as reader:
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
        sd.play(samples, reader.getframerate())
    sd.wait()
