"""Audio in: read WAV (any common rate, channels, 8/16/24/32-bit int or float) and raw PCM, stream it
as 16 kHz mono PCM16 through a real resampler (soxr), and reject what is not audio with a clear error.

Everything streams in blocks, so a ten-minute file costs no more memory than a one-second one.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np
import numpy.typing as npt
import soxr

from bot.errors import InputError

SAMPLE_RATE = 16000
"""Rate of everything downstream of this module (VAD, recogniser)."""
MIN_RATE, MAX_RATE = 8000, 192000
MAX_CHANNELS = 8
BLOCK_FRAMES = 4096
"""Input frames decoded per block."""
_OPEN_SIZE = 0x7FFF0000
"""Data sizes of 0 or from here up (0x7FFFF000 from espeak-ng --stdout, 0xFFFFFFFF from others) are
placeholders of streaming writers that could not seek back: read to the end."""
_MAX_SKIPPED_BYTES = 16 * 1024 * 1024
"""Non-audio chunks (LIST, bext…) skipped before ``data``; more than this is not a WAV we accept."""
_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_MAGIC = (
    (b"ID3", "MP3"),
    (b"\xff\xfb", "MP3"),
    (b"\xff\xf3", "MP3"),
    (b"\xff\xf2", "MP3"),
    (b"OggS", "Ogg"),
    (b"fLaC", "FLAC"),
    (b"\x1a\x45\xdf\xa3", "WebM/Matroska"),
    (b"RF64", "RF64"),
    (b"FORM", "AIFF"),
)

Samples = npt.NDArray[np.float32]
Encoding = Literal["pcm", "float"]


class AudioError(InputError):
    """The bytes are not audio we can read (HTTP 415 unless a subclass says otherwise)."""

    code = "unsupported_audio"
    status = 415


@dataclass(frozen=True)
class WavFormat:
    """What a WAV header declares."""

    sample_rate: int
    channels: int
    encoding: Encoding
    bits: int
    frames: int | None
    """Frames in the data chunk; None when the writer left the size open (streaming)."""

    @property
    def block_align(self) -> int:
        """Bytes per frame (all channels)."""
        return self.channels * self.bits // 8

    @property
    def duration_s(self) -> float | None:
        """Declared duration in seconds."""
        return None if self.frames is None else self.frames / self.sample_rate


def _sniff(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        return "MP4/M4A"
    return None


def _not_wav(head: bytes) -> AudioError:
    kind = _sniff(head)
    if kind:
        return AudioError(f"不支持 {kind} 格式，请发送 WAV（PCM）音频", code="unsupported_audio_format")
    return AudioError("这不是 WAV 音频文件", code="not_wav")


def _truncated(what: str) -> AudioError:
    return AudioError(f"音频文件不完整：{what}", code="audio_truncated", status=400)


def _read_exact(stream: BinaryIO, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise _truncated(what)
    return data


def _skip(stream: BinaryIO, size: int) -> None:
    while size > 0:
        got = stream.read(min(size, 65536))
        if not got:
            raise _truncated("文件在数据块之前就结束了")
        size -= len(got)


def _parse_fmt(body: bytes) -> tuple[int, int, Encoding, int]:
    tag, channels, rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE:
        if len(body) < 40:
            raise _truncated("WAVE_FORMAT_EXTENSIBLE 头部过短")
        tag = struct.unpack("<H", body[24:26])[0]
    if tag not in (_PCM, _FLOAT):
        raise AudioError(
            f"不支持的 WAV 编码（格式代码 {tag}），请使用 PCM 或浮点", code="unsupported_encoding"
        )
    encoding: Encoding = "pcm" if tag == _PCM else "float"
    ok_bits = (8, 16, 24, 32) if encoding == "pcm" else (32, 64)
    if bits not in ok_bits:
        raise AudioError(f"不支持 {bits} 位的{encoding}采样", code="unsupported_encoding")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"声道数 {channels} 不合理", code="bad_channels")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"采样率 {rate} Hz 不支持（支持 8–192 kHz）", code="bad_sample_rate")
    return rate, channels, encoding, bits


def _remaining(stream: BinaryIO) -> int | None:
    if not stream.seekable():
        return None
    here = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(here)
    return end - here


def read_header(stream: BinaryIO) -> WavFormat:
    """Parse the RIFF header up to the start of the samples; the stream is left there."""
    head = stream.read(12)
    if not head:
        raise AudioError("音频为空", code="audio_empty", status=400)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        if head[:4] == b"RIFF" and len(head) < 12:
            raise _truncated("RIFF 头部不完整")
        raise _not_wav(head)
    fmt: tuple[int, int, Encoding, int] | None = None
    skipped = 0
    while True:
        chunk = stream.read(8)
        if len(chunk) < 8:
            raise _truncated("没有找到音频数据块（data）")
        cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"fmt ":
            if not 16 <= size <= 1024:
                raise AudioError(f"fmt 块大小 {size} 不合理", code="bad_wav_header", status=400)
            fmt = _parse_fmt(_read_exact(stream, size + (size & 1), "fmt 块被截断"))
        elif cid == b"data":
            if fmt is None:
                raise AudioError("WAV 缺少 fmt 块", code="bad_wav_header", status=400)
            return _data_format(stream, fmt, size)
        else:
            skipped += size + (size & 1)
            if skipped > _MAX_SKIPPED_BYTES:
                raise AudioError("WAV 头部的附加信息过大", code="bad_wav_header", status=400)
            _skip(stream, size + (size & 1))


def _data_format(stream: BinaryIO, fmt: tuple[int, int, Encoding, int], size: int) -> WavFormat:
    rate, channels, encoding, bits = fmt
    align = channels * bits // 8
    remaining = _remaining(stream)
    if size == 0 or size >= _OPEN_SIZE:
        frames = None if remaining is None else remaining // align
    else:
        if remaining is not None and remaining < size:
            raise _truncated(f"声明 {size} 字节音频数据，实际只有 {remaining} 字节")
        frames = size // align
    if frames == 0:
        raise AudioError("音频里没有任何采样", code="audio_empty", status=400)
    return WavFormat(rate, channels, encoding, bits, frames)


def decode(raw: bytes, encoding: Encoding, bits: int, channels: int) -> Samples:
    """Interleaved little-endian samples → float32 in [-1, 1], mixed down to mono."""
    if encoding == "float":
        x = np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8").astype(np.float32)
        x = np.clip(np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    elif bits == 8:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif bits == 16:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8
        x = ints.astype(np.float32) / 8388608.0
    else:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return x


def to_pcm16(samples: Samples) -> bytes:
    """float32 in [-1, 1] → little-endian PCM16 bytes."""
    return np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class Resampler:
    """Streaming conversion of mono float32 at any rate to 16 kHz PCM16 (soxr, high quality)."""

    def __init__(self, in_rate: int, out_rate: int = SAMPLE_RATE):
        self._stream = None if in_rate == out_rate else soxr.ResampleStream(in_rate, out_rate, 1, "float32")

    def push(self, samples: Samples, last: bool = False) -> bytes:
        """Resample one block; ``last`` flushes the filter's tail."""
        if self._stream is None:
            return to_pcm16(samples)
        return to_pcm16(self._stream.resample_chunk(samples, last=last))


def pcm16_chunks(stream: BinaryIO, max_seconds: float | None = None) -> Iterator[bytes]:
    """A WAV stream as 16 kHz mono PCM16 chunks; AudioError on anything unreadable."""
    fmt = read_header(stream)
    if max_seconds is not None and (fmt.duration_s or 0) > max_seconds:
        raise _too_long(max_seconds)
    yield from _convert(stream, fmt, max_seconds)


def _too_long(max_seconds: float) -> AudioError:
    return AudioError(f"音频太长了，最长 {max_seconds:g} 秒", code="audio_too_long", status=413)


def _convert(stream: BinaryIO, fmt: WavFormat, max_seconds: float | None) -> Iterator[bytes]:
    resampler = Resampler(fmt.sample_rate)
    align = fmt.block_align
    left = fmt.frames
    seen = 0
    carry = b""
    while left is None or left > 0:
        want = BLOCK_FRAMES if left is None else min(BLOCK_FRAMES, left)
        got = stream.read(want * align - len(carry))
        if not got:
            if left is not None:
                raise _truncated("音频数据比声明的短")
            break
        raw = carry + got
        usable = len(raw) - len(raw) % align
        raw, carry = raw[:usable], raw[usable:]
        frames = usable // align
        seen += frames
        if max_seconds is not None and seen > max_seconds * fmt.sample_rate:
            raise _too_long(max_seconds)
        if left is not None:
            left -= frames
        if frames:
            yield resampler.push(decode(raw, fmt.encoding, fmt.bits, fmt.channels))
    yield resampler.push(np.zeros(0, dtype=np.float32), last=True)


def wav_to_pcm16(data: bytes, max_seconds: float | None = None) -> bytes:
    """A whole WAV file (bytes) → 16 kHz mono PCM16."""
    return b"".join(pcm16_chunks(io.BytesIO(data), max_seconds))


def raw_to_pcm16(data: bytes, sample_rate: int, channels: int = 1, sample_format: str = "s16le") -> bytes:
    """Headerless PCM (``s16le``, ``s24le``, ``s32le``, ``u8``, ``f32le``) → 16 kHz mono PCM16."""
    formats: dict[str, tuple[Encoding, int]] = {
        "u8": ("pcm", 8),
        "s16le": ("pcm", 16),
        "s24le": ("pcm", 24),
        "s32le": ("pcm", 32),
        "f32le": ("float", 32),
    }
    if sample_format not in formats:
        raise AudioError(f"不支持的 PCM 格式 {sample_format}", code="unsupported_encoding")
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise AudioError(f"采样率 {sample_rate} Hz 不支持", code="bad_sample_rate")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"声道数 {channels} 不合理", code="bad_channels")
    encoding, bits = formats[sample_format]
    align = channels * bits // 8
    if len(data) < align:
        raise AudioError("音频为空", code="audio_empty", status=400)
    raw = data[: len(data) - len(data) % align]
    return Resampler(sample_rate).push(decode(raw, encoding, bits, channels), last=True)


def pcm16_to_wav(pcm: bytes, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Mono PCM16 → WAV bytes."""
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(pcm),
        b"WAVE",
        b"fmt ",
        16,
        _PCM,
        1,
        sample_rate,
        sample_rate * 2,
        2,
        16,
        b"data",
        len(pcm),
    )
    return header + pcm


def duration_s(pcm16: bytes, sample_rate: int = SAMPLE_RATE) -> float:
    """Seconds of mono PCM16."""
    return len(pcm16) / 2 / sample_rate
