"""VAD endpointing: utterances open with their pre-roll and close after the configured trailing silence."""

from __future__ import annotations

from bot.speech.audio import wav_to_pcm16
from bot.speech.vad import FRAME_BYTES, FRAME_MS, Endpointer, VadEventType, VadSettings
from tests.speech_fixtures import espeak_wav

VOICED, QUIET = b"\x01" * FRAME_BYTES, b"\x00" * FRAME_BYTES


def by_first_byte(frame: bytes) -> bool:
    return frame[0] == 1


def frames(pattern: str) -> bytes:
    """``v`` a voiced frame, ``.`` a quiet one."""
    return b"".join(VOICED if c == "v" else QUIET for c in pattern)


def kinds(events: list) -> list[str]:  # type: ignore[type-arg]
    return [e.type.value for e in events]


def test_start_carries_the_preroll_and_end_follows_the_trailing_silence() -> None:
    settings = VadSettings(start_ms=60, preroll_ms=150, trailing_silence_ms=90)
    ep = Endpointer(settings, by_first_byte)
    events = ep.feed(frames("....vv" + "v..v" + "..." + "...."))
    assert kinds(events)[0] == "speech-start"
    assert events[0].audio == frames("...vv")  # 150 ms pre-roll including the voiced onset
    assert kinds(events).count("speech-end") == 1
    end = next(e for e in events if e.type is VadEventType.END)
    assert end.at_ms == (6 + 4 + 3) * FRAME_MS
    audio = b"".join(e.audio for e in events if e.type is VadEventType.AUDIO)
    assert audio == frames("v..v...")


def test_noise_blips_do_not_open_an_utterance() -> None:
    ep = Endpointer(VadSettings(start_ms=90, preroll_ms=300), by_first_byte)
    assert ep.feed(frames("v....v....v....v....")) == []
    assert not ep.in_speech


def test_odd_chunk_sizes_give_the_same_events() -> None:
    pcm = frames("...vvvv......vvvv.......")
    whole = Endpointer(VadSettings(trailing_silence_ms=150), by_first_byte).feed(pcm)
    ep = Endpointer(VadSettings(trailing_silence_ms=150), by_first_byte)
    pieces = [pcm[i : i + 77] for i in range(0, len(pcm), 77)]
    split = [e for piece in pieces for e in ep.feed(piece)]
    assert kinds(split) == kinds(whole) and kinds(whole).count("speech-end") == 2
    assert [e.at_ms for e in split] == [e.at_ms for e in whole]


def test_max_utterance_cuts_and_flush_closes() -> None:
    ep = Endpointer(VadSettings(max_utterance_ms=300, start_ms=30, preroll_ms=30), by_first_byte)
    assert kinds(ep.feed(frames("v" * 12))).count("speech-end") == 1
    open_one = Endpointer(VadSettings(start_ms=30, preroll_ms=30), by_first_byte)
    open_one.feed(frames("vvv") + b"\x01" * 10)
    assert kinds(open_one.flush()) == ["audio", "speech-end"]
    assert open_one.flush() == []


def test_webrtc_vad_finds_real_speech_and_ignores_silence() -> None:
    speech = bytes(16000) + wav_to_pcm16(espeak_wav("안녕하세요")) + bytes(32000)
    events = Endpointer(VadSettings(trailing_silence_ms=600)).feed(speech)
    assert kinds(events)[0] == "speech-start" and kinds(events).count("speech-end") == 1
    start = events[0].at_ms
    assert 500 <= start <= 800  # speech begins after half a second of silence
    assert Endpointer().feed(bytes(16000 * 2 * 5)) == []
