"""bot.speech.audio: every common WAV becomes 16 kHz mono PCM16 by a real resampler; non-audio refused."""

from __future__ import annotations

import contextlib
import io
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.speech.audio import AudioError, pcm16_chunks, pcm16_to_wav, raw_to_pcm16, read_header, wav_to_pcm16

ENCODINGS = {
    "u8": ["-e", "unsigned-integer", "-b", "8"],
    "s16": ["-e", "signed-integer", "-b", "16"],
    "s24": ["-e", "signed-integer", "-b", "24"],
    "s32": ["-e", "signed-integer", "-b", "32"],
    "f32": ["-e", "floating-point", "-b", "32"],
    "f64": ["-e", "floating-point", "-b", "64"],
}


def sox_tone(
    path: Path, rate: int, channels: int, encoding: str, freq: float = 440, seconds: float = 1.0
) -> bytes:
    """A WAV written by sox (an independent encoder), tone at half scale."""
    cmd = ["sox", "-n", "-r", str(rate), "-c", str(channels), *ENCODINGS[encoding], str(path)]
    cmd += ["synth", str(seconds), "sine", str(freq), "vol", "0.5"]
    subprocess.run(cmd, check=True, capture_output=True)
    return path.read_bytes()


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


def peak_hz(x: np.ndarray, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_common_wavs_become_16k_mono_with_pitch_and_length_kept(
    tmp_path: Path, rate: int, channels: int, encoding: str
) -> None:
    data = sox_tone(tmp_path / "t.wav", rate, channels, encoding)
    x = samples(wav_to_pcm16(data))
    assert abs(len(x) - 16000) <= 2  # one second at 16 kHz
    assert peak_hz(x) == pytest.approx(440, abs=3)
    rms = float(np.sqrt(np.mean(x[2000:-2000] ** 2)))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.05)


def test_resampler_filters_what_16k_cannot_carry(tmp_path: Path) -> None:
    """A 10 kHz tone at 48 kHz is above 16 kHz's Nyquist: a real resampler removes it, naive decimation
    would fold it down to 6 kHz."""
    x = samples(wav_to_pcm16(sox_tone(tmp_path / "hi.wav", 48000, 1, "s16", freq=10000)))
    assert float(np.sqrt(np.mean(x**2))) < 0.01
    kept = samples(wav_to_pcm16(sox_tone(tmp_path / "ok.wav", 48000, 1, "s16", freq=7000)))
    assert peak_hz(kept) == pytest.approx(7000, abs=3)


def test_stereo_is_mixed_down(tmp_path: Path) -> None:
    left_only = tmp_path / "l.wav"
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "44100",
            "-c",
            "2",
            "-b",
            "16",
            str(left_only),
            "synth",
            "1",
            "sine",
            "440",
            "remix",
            "1",
            "0",
        ],
        check=True,
        capture_output=True,
    )
    both = samples(wav_to_pcm16(sox_tone(tmp_path / "b.wav", 44100, 2, "s16")))
    left = samples(wav_to_pcm16(left_only.read_bytes()))
    assert np.max(np.abs(left)) == pytest.approx(0.5, rel=0.05)  # full-scale left, silent right → half
    assert np.max(np.abs(both)) == pytest.approx(0.5, rel=0.05)


def test_streamed_chunks_equal_the_whole_conversion(tmp_path: Path) -> None:
    data = sox_tone(tmp_path / "t.wav", 44100, 2, "s24", seconds=3)
    chunks = list(pcm16_chunks(io.BytesIO(data)))
    assert len(chunks) > 10
    assert b"".join(chunks) == wav_to_pcm16(data)


def _header(
    fmt_tag: int = 1, channels: int = 1, rate: int = 16000, bits: int = 16, data_size: int = 0
) -> bytes:
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * align, align, bits)
    return b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVEfmt " + struct.pack("<I", 16) + fmt


def test_extensible_header_is_read() -> None:
    pcm = (np.sin(np.arange(8000) / 5) * 10000).astype("<i2").tobytes()
    guid = struct.pack("<H", 1) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    ext = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 8000, 16000, 2, 16, 22, 16, 4) + guid
    data = b"RIFF" + struct.pack("<I", 60 + len(pcm)) + b"WAVEfmt " + struct.pack("<I", 40) + ext
    data += b"data" + struct.pack("<I", len(pcm)) + pcm
    fmt = read_header(io.BytesIO(data))
    assert (fmt.sample_rate, fmt.encoding, fmt.bits, fmt.frames) == (8000, "pcm", 16, 8000)
    assert len(wav_to_pcm16(data)) == pytest.approx(32000, abs=4)


def test_streaming_writer_size_is_read_to_the_end() -> None:
    pcm = b"\x10\x00" * 16000
    data = _header() + b"data" + struct.pack("<I", 0xFFFFFFFF) + pcm
    assert len(wav_to_pcm16(data)) == len(pcm)


BAD = {
    "empty": (b"", "audio_empty"),
    "riff only": (b"RIFF", "audio_truncated"),
    "header cut in fmt": (_header()[:30], "audio_truncated"),
    "no data chunk": (_header(), "audio_truncated"),
    "mp3": (
        b"ID3\x04\x00\x00\x00\x00\x00\x0f" + b"\xff\xfb\x90\x64" + bytes(400),
        "unsupported_audio_format",
    ),
    "mp3 frame": (b"\xff\xfb\x90\x64" + bytes(400), "unsupported_audio_format"),
    "ogg": (b"OggS\x00\x02" + bytes(100), "unsupported_audio_format"),
    "text": ("你好，这不是音频".encode(), "not_wav"),
    "avi": (b"RIFF\x00\x01\x00\x00AVI LIST" + bytes(64), "not_wav"),
    "lying data size": (
        _header(data_size=64000) + b"data" + struct.pack("<I", 64000) + bytes(1000),
        "audio_truncated",
    ),
    "lying fmt size": (_header()[:16] + struct.pack("<I", 1 << 30) + bytes(100), "bad_wav_header"),
    "huge extra chunk": (_header() + b"LIST" + struct.pack("<I", 1 << 31) + bytes(100), "bad_wav_header"),
    "data before fmt": (b"RIFF\x00\x00\x00\x00WAVEdata\x04\x00\x00\x00abcd", "bad_wav_header"),
    "zero channels": (_header(channels=0) + b"data\x04\x00\x00\x00abcd", "bad_channels"),
    "a-law": (_header(fmt_tag=6, bits=8) + b"data\x04\x00\x00\x00abcd", "unsupported_encoding"),
    "12-bit": (_header(bits=12) + b"data\x04\x00\x00\x00abcd", "unsupported_encoding"),
    "1 Hz": (_header(rate=1) + b"data\x04\x00\x00\x00abcd", "bad_sample_rate"),
    "no samples": (_header() + b"data\x00\x00\x00\x00", "audio_empty"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_what_is_not_audio_gets_a_clear_error(name: str) -> None:
    data, code = BAD[name]
    with pytest.raises(AudioError) as err:
        wav_to_pcm16(data)
    assert err.value.code == code
    assert err.value.status in (400, 413, 415)
    assert err.value.message  # Chinese, for the end user


class _Pipe(io.RawIOBase):
    """A non-seekable stream (like an HTTP body)."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(buffer), 1000))  # short reads, like a socket
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_non_seekable_stream_with_short_reads_and_a_lying_size() -> None:
    pcm = (np.arange(48000) % 200 - 100).astype("<i2").tobytes()
    good = _header(channels=2, rate=48000) + b"data" + struct.pack("<I", len(pcm)) + pcm
    assert b"".join(pcm16_chunks(_Pipe(good))) == wav_to_pcm16(good)  # type: ignore[arg-type]
    lying = _header() + b"data" + struct.pack("<I", 10 * len(pcm)) + pcm
    with pytest.raises(AudioError) as err:
        b"".join(pcm16_chunks(_Pipe(lying)))  # type: ignore[arg-type]
    assert err.value.code == "audio_truncated"


def test_too_long_is_refused_when_a_limit_is_set() -> None:
    data = pcm16_to_wav(bytes(16000 * 2 * 5))
    assert len(wav_to_pcm16(data, max_seconds=6)) == 16000 * 2 * 5
    with pytest.raises(AudioError) as err:
        wav_to_pcm16(data, max_seconds=4)
    assert (err.value.code, err.value.status) == ("audio_too_long", 413)


def test_raw_pcm_formats() -> None:
    tone = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)
    stereo = np.repeat((tone * 16000).astype("<i2"), 2).tobytes()
    x = samples(raw_to_pcm16(stereo, 8000, channels=2))
    assert abs(len(x) - 16000) <= 2 and peak_hz(x) == pytest.approx(440, abs=3)
    f32 = (tone * 0.5).astype("<f4").tobytes()
    assert peak_hz(samples(raw_to_pcm16(f32, 8000, sample_format="f32le"))) == pytest.approx(440, abs=3)
    for bad, code in (
        (dict(sample_format="mp3"), "unsupported_encoding"),
        (dict(channels=0), "bad_channels"),
    ):
        with pytest.raises(AudioError) as err:
            raw_to_pcm16(stereo, 8000, **bad)  # type: ignore[arg-type]
        assert err.value.code == code
    with pytest.raises(AudioError):
        raw_to_pcm16(b"", 16000)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(AudioError):
        wav_to_pcm16(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 80), st.binary(min_size=1, max_size=8))
def test_corrupted_headers_never_crash(position: int, junk: bytes) -> None:
    pcm = bytes(range(256)) * 4
    data = bytearray(_header(channels=2, rate=44100) + b"data" + struct.pack("<I", len(pcm)) + pcm)
    data[position : position + len(junk)] = junk
    with contextlib.suppress(AudioError):
        wav_to_pcm16(bytes(data))
