"""Bad and awkward audio through the real recogniser and the real CLI: a clear error or an empty
transcript, never a crash, and memory bounded however long the recording."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from bot.speech.stt.stream import transcribe_wav
from tests.speech_fixtures import KOREAN_GRAMMAR, espeak_wav, korean_engine, korean_model_dir

BOT = str(Path(sys.executable).parent / "bot")


def bot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BOT, *args], capture_output=True, text=True, timeout=120, check=False)


def silent_wav(path: Path, seconds: int) -> Path:
    """A 16 kHz mono PCM16 WAV of digital silence, written in blocks."""
    size = seconds * 16000 * 2
    with path.open("wb") as out:
        out.write(
            b"RIFF"
            + struct.pack("<I", 36 + size)
            + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
        )
        out.write(b"data" + struct.pack("<I", size))
        block = bytes(32000)
        for _ in range(seconds):
            out.write(block)
    return path


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("empty.wav", b"", "audio_empty"),
        ("truncated.wav", b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00", "audio_truncated"),
        (
            "song.mp3",
            b"ID3\x04\x00\x00\x00\x00\x00\x0f" + b"\xff\xfb\x90\x64" * 500,
            "unsupported_audio_format",
        ),
        ("notes.wav", "这是一段文字，不是录音".encode(), "not_wav"),
    ],
)
def test_cli_gives_a_clear_error(tmp_path: Path, name: str, content: bytes, code: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = bot("transcribe", "--model", str(korean_model_dir()), str(path))
    assert result.returncode == 2
    assert f"error [{code}]" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_and_missing_model_are_named(tmp_path: Path) -> None:
    result = bot("transcribe", "--model", str(korean_model_dir()), str(tmp_path / "nope.wav"))
    assert result.returncode == 2 and "file_unreadable" in result.stderr
    wav = tmp_path / "x.wav"
    wav.write_bytes(espeak_wav("아니요"))
    env_models = tmp_path / "models"
    result = subprocess.run(
        [BOT, "transcribe", str(wav)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "BOT_MODELS_DIR": str(env_models)},
    )
    assert result.returncode == 2
    assert f"{env_models}/stt/vosk-model-small-cn-0.22" in result.stderr


def test_ten_minutes_of_silence_is_an_empty_transcript_in_bounded_memory(tmp_path: Path) -> None:
    path = silent_wav(tmp_path / "silence.wav", 600)
    engine = korean_engine()
    tracemalloc.start()
    try:
        with path.open("rb") as handle:
            result = transcribe_wav(engine, handle)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.text == "" and result.utterances == []
    assert result.audio_ms == pytest.approx(600_000, abs=40)
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for a {path.stat().st_size / 1e6:.0f} MB file"


def test_48k_stereo_float_speech_is_recognised_like_mono(tmp_path: Path) -> None:
    mono = tmp_path / "mono.wav"
    mono.write_bytes(espeak_wav("안녕하세요"))
    stereo = tmp_path / "stereo.wav"
    subprocess.run(
        ["sox", str(mono), "-r", "48000", "-c", "2", "-e", "floating-point", "-b", "32", str(stereo)],
        check=True,
        capture_output=True,
    )
    grammar = tmp_path / "grammar.json"
    grammar.write_text(json.dumps(list(KOREAN_GRAMMAR), ensure_ascii=False), encoding="utf-8")
    result = bot(
        "transcribe", "--model", str(korean_model_dir()), "--grammar", str(grammar), "--json", str(stereo)
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["text"] == "안녕하세요"
