"""Wake-phrase spotting on a continuous stream: the VAD finds utterances, a small grammar decodes them.

The grammar is the wake phrase plus filler words (and the model's unknown-word token when it has
one), so other speech is absorbed by the fillers instead of being forced onto the wake phrase; with
snapping (:mod:`bot.speech.stt.snap`) an utterance is the wake phrase only when the decoder's n-best
list says so with confidence. Utterances are short and only speech is decoded, so listening all day
costs little CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.speech.stt.base import SpeechToText, SttError
from bot.speech.stt.snap import squash
from bot.speech.stt.stream import UtteranceStream
from bot.speech.vad import VadSettings

FILLERS: dict[str, tuple[str, ...]] = {
    "ko": tuple(
        [
            "하이",
            "헤이",
            "안녕",
            "친구",
            "오늘",
            "날씨",
            "음악",
            "틀어",
            "줘",
            "뭐",
            "해",
            "좀",
            "지금",
            "시간",
            "몇",
            "시",
            "알려",
            "주세요",
            "네",
            "아니요",
            "감사합니다",
            "좋아요",
            "그래",
            "이거",
            "저거",
            "여기",
            "거기",
            "집",
            "불",
            "켜",
            "꺼",
            "엄마",
            "아빠",
            "밥",
            "먹어",
            "학교",
            "회사",
            "내일",
            "어제",
            "전화",
            "문자",
            "사랑",
            "해요",
            "정말",
            "진짜",
            "그냥",
            "우리",
            "나",
            "너",
            "다시",
            "많이",
            "조금",
            "빨리",
            "천천히",
            "볼륨",
            "올려",
            "내려",
            "에어컨",
            "냉장고",
            "세탁기",
            "하나",
            "둘",
            "셋",
        ]
    ),
    "zh": tuple(
        [
            "你好",
            "打开",
            "关掉",
            "空调",
            "冰箱",
            "电视",
            "灯",
            "今天",
            "明天",
            "天气",
            "多少",
            "电费",
            "什么",
            "怎么",
            "我",
            "你",
            "他",
            "我们",
            "的",
            "了",
            "吗",
            "好",
            "不",
            "是",
            "有",
            "没有",
            "一下",
            "现在",
            "时间",
            "音乐",
            "播放",
            "小",
            "家",
            "居",
            "一",
            "二",
            "三",
        ]
    ),
}
"""Everyday words that soak up non-wake speech, per model language (unsayable ones are dropped)."""

WAKE_VAD = VadSettings(trailing_silence_ms=300, phrase_confirm_ms=120, stable_silence_ms=None)
"""A wake phrase is short and followed by a pause: its end is confirmed quickly."""


@dataclass(frozen=True)
class Wake:
    """The wake phrase was heard."""

    phrase: str
    at_ms: int
    """Stream time of the end of the wake phrase's utterance."""


class WakeSpotter:
    """Feeds a continuous 16 kHz PCM16 stream; reports each time the wake phrase was said."""

    def __init__(
        self,
        engine: SpeechToText,
        phrase: str,
        fillers: Sequence[str] | None = None,
        vad: VadSettings | None = None,
    ):
        self.phrase = phrase
        self._key = squash(phrase)
        if not self._key:
            raise SttError("wake phrase is empty", code="wake_phrase_empty")
        fillers = FILLERS.get(engine.info.language, ()) if fillers is None else fillers
        grammar = [phrase, *(f for f in fillers if squash(f) != self._key)]
        sayable = getattr(engine, "phrases", None)
        if callable(sayable) and self._key not in {squash(p) for p in sayable(grammar)}:
            raise SttError(f"wake phrase {phrase!r} cannot be said with this model", code="wake_unsayable")
        self._stream = UtteranceStream(engine, grammar, vad or WAKE_VAD)

    @property
    def stream_ms(self) -> int:
        """Audio consumed so far."""
        return self._stream.stream_ms

    def feed(self, pcm: bytes) -> list[Wake]:
        """Consume PCM; the wakes it completed (usually none)."""
        return [
            Wake(self.phrase, u.at_ms)
            for u in self._stream.feed(pcm)
            if u.final and squash(u.raw) == self._key
        ]
