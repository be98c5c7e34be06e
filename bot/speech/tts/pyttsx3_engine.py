"""pyttsx3 over espeak-ng with the Mandarin voice, owned by one dedicated worker thread.

Text is made speakable first (numbers, money, percentages and dates read in Chinese), split into
sentences, and each sentence is synthesised on the engine thread into PCM.
"""

from __future__ import annotations

import ctypes
import functools
import io
import re
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.errors import InputError
from bot.speech.audio import pcm16_to_wav
from bot.speech.tts.base import NORMAL_PACE, TtsError, TtsInfo
from bot.speech.tts.numbers import speakable
from bot.speech.tts.worker import EngineWorker

MAX_TEXT_CHARS = 1000
_SHARED_LOCK = threading.Lock()
_shared: tuple[VoiceSettings, EngineWorker[Pyttsx3Voice]] | None = None
"""libespeak-ng is one synthesiser per process (voice, rate and its callback are global): a second
pyttsx3 engine steals the first one's callback and both hang, and a voice changed between
sentences only takes effect a sentence late. So a process has one engine on one thread, with one
voice, shared by every Pyttsx3TextToSpeech."""
_users = 0
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")
_MAX_SENTENCE_CHARS = 80
SAMPLE_RATE = 22050
"""espeak-ng's output rate."""


@dataclass(frozen=True)
class VoiceSettings:
    """Voice of the synthesiser."""

    voice: str = "cmn"
    """espeak-ng voice (language code or id): ``cmn`` is Mandarin."""
    rate: int = 175
    """Words per minute."""
    volume: float = 1.0
    timeout_s: float = 10.0
    """Deadline of one sentence before the watchdog restarts the engine."""


class Pyttsx3Voice:
    """pyttsx3's espeak-ng binding, driven directly: create and use it on one thread only.

    pyttsx3's own espeak driver is not used for synthesis: in retrieval mode espeak-ng calls back
    from its own thread, and the driver's loop sometimes returned before the last callback (an empty
    or cut WAV; the rest of the sentence then leaked into the next one). Here the callback collects
    the samples and signals the end of the message; ``render`` waits for exactly that.
    """

    def __init__(self, settings: VoiceSettings):
        from pyttsx3.drivers import _espeak
        from pyttsx3.drivers.espeak import EspeakDriver

        self._espeak = _espeak
        if not EspeakDriver._moduleInitialized:
            # espeak-ng can be initialised once per process; pyttsx3's flag records that it was.
            if _espeak.Initialize(_espeak.AUDIO_OUTPUT_RETRIEVAL, 1000) == -1:
                raise TtsError("espeak-ng could not be initialised", code="tts_failed")
            EspeakDriver._moduleInitialized = True
        _espeak.Cancel()  # whatever an abandoned engine left in espeak-ng's queue
        self._timeout_s = settings.timeout_s
        self._pcm = bytearray()
        self._done = threading.Event()
        _espeak.SetSynthCallback(self._on_synth)
        EspeakDriver.setProperty("voice", self._voice_id(EspeakDriver, settings.voice))
        EspeakDriver.setProperty("rate", settings.rate)
        self._driver = EspeakDriver
        self._rate = self._current_rate = settings.rate
        EspeakDriver.setProperty("volume", settings.volume)

    @staticmethod
    def _voice_id(driver: Any, wanted: str) -> str:
        for voice in driver.getProperty("voices"):
            if voice.id == wanted or voice.id.endswith(f"/{wanted}") or wanted in (voice.languages or []):
                return str(voice.id)
        raise TtsError(f"espeak-ng has no voice {wanted!r} (is espeak-ng-data installed?)")

    def _on_synth(self, wav: Any, numsamples: int, events: Any) -> int:
        """espeak-ng's callback (on its own thread): keep the samples, note the end of the message."""
        if numsamples > 0:
            self._pcm += ctypes.string_at(wav, numsamples * ctypes.sizeof(ctypes.c_short))
        i = 0
        while events[i].type != self._espeak.EVENT_LIST_TERMINATED:
            if events[i].type == self._espeak.EVENT_MSG_TERMINATED:
                self._done.set()
            i += 1
        return 0

    def render(self, text: str, rate: int | None = None) -> tuple[bytes, int]:
        """One sentence → (mono PCM16, sample rate), at ``rate`` words per minute (None: configured)."""
        wanted = rate or self._rate
        if wanted != self._current_rate:  # espeak-ng's rate is global: change it only when asked
            self._driver.setProperty("rate", wanted)
            self._current_rate = wanted
        self._pcm = bytearray()
        self._done.clear()
        self._espeak.Synth(text, flags=self._espeak.ENDPAUSE | self._espeak.CHARS_UTF8)
        if not self._done.wait(self._timeout_s):
            self._espeak.Cancel()
            raise TtsError("语音合成超时，请稍后再试", code="tts_timeout")
        if not self._pcm:
            raise TtsError("语音合成没有产生音频", code="tts_failed")
        return bytes(self._pcm), SAMPLE_RATE


def _acquire_worker(settings: VoiceSettings) -> EngineWorker[Pyttsx3Voice]:
    global _shared, _users
    with _SHARED_LOCK:
        if _shared is None:
            worker = EngineWorker(lambda: Pyttsx3Voice(settings), settings.timeout_s, "tts-pyttsx3")
            _shared = (settings, worker)
        elif _shared[0] != settings:
            raise TtsError("同一进程只能使用一种合成语音设置", code="tts_voice_conflict")
        _users += 1
        return _shared[1]


def _release_worker() -> None:
    global _shared, _users
    with _SHARED_LOCK:
        _users -= 1
        if _users == 0 and _shared is not None:
            _shared[1].close()
            _shared = None


def sentences(text: str) -> list[str]:
    """Split at sentence ends, then cut long sentences at commas so first audio comes sooner."""
    out: list[str] = []
    for part in _SENTENCE_END.split(text):
        part = part.strip()
        while len(part) > _MAX_SENTENCE_CHARS:
            cut = max(part.rfind(c, 0, _MAX_SENTENCE_CHARS) for c in "，,、 ")
            cut = cut + 1 if cut > 0 else _MAX_SENTENCE_CHARS
            out.append(part[:cut].strip())
            part = part[cut:].strip()
        if re.search(r"\w", part):
            out.append(part)
    return out


class Pyttsx3TextToSpeech:
    """TextToSpeech on pyttsx3/espeak-ng; every call goes through the engine's own thread."""

    def __init__(self, settings: VoiceSettings | None = None):
        self.settings = settings or VoiceSettings()
        self._worker = _acquire_worker(self.settings)
        self._closed = False
        self._info = TtsInfo(f"pyttsx3:espeak-ng:{self.settings.voice}", "zh", SAMPLE_RATE)

    @property
    def info(self) -> TtsInfo:
        """Engine, voice and output rate."""
        return self._info

    @property
    def restarts(self) -> int:
        """Engine restarts by the watchdog."""
        return self._worker.restarts

    def synthesize_stream(self, text: str, pace: float = NORMAL_PACE) -> Iterator[bytes]:
        """One WAV per sentence; ``pace`` scales the configured rate (「说慢一点」)."""
        words_per_minute = max(80, round(self.settings.rate * pace))
        for sentence in self._prepare(text):
            job = functools.partial(Pyttsx3Voice.render, text=sentence, rate=words_per_minute)
            pcm, sample_rate = self._worker.call(job, self.settings.timeout_s)
            yield pcm16_to_wav(pcm, sample_rate)

    def synthesize(self, text: str) -> bytes:
        """The whole text as one WAV."""
        pcm, rate = b"", self._info.sample_rate
        for part in self.synthesize_stream(text):
            with wave.open(io.BytesIO(part), "rb") as wav:
                pcm += wav.readframes(wav.getnframes())
                rate = wav.getframerate()
        return pcm16_to_wav(pcm, rate)

    def close(self) -> None:
        """Release the shared engine (its thread stops when the last user closes)."""
        if not self._closed:
            self._closed = True
            _release_worker()

    @staticmethod
    def _prepare(text: str) -> list[str]:
        if len(text) > MAX_TEXT_CHARS:
            raise InputError(f"朗读内容太长，请控制在{MAX_TEXT_CHARS}字以内", code="tts_text_too_long")
        parts = sentences(speakable(text))
        if not parts:
            raise InputError("没有可以朗读的文字", code="tts_text_empty")
        return parts
