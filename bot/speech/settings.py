"""Speech settings: the ``[speech]`` table of the TOML config file, validated once and passed down."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from bot.config import Config
from bot.errors import ConfigError
from bot.speech.tts.pyttsx3_engine import VoiceSettings
from bot.speech.vad import CLASSIFIERS, VadSettings


@dataclass(frozen=True)
class SpeechSettings:
    """How the assistant listens and speaks."""

    model: str | None = None
    """Vosk model: registry name or folder; None picks the first provisioned Chinese model."""
    trailing_silence_ms: int = 450
    """Silence that ends an utterance (VAD endpointing). Every ms of it is waited for after each
    question; 450 (was 600) still lets a speaker pause briefly mid-sentence (bench/RESULTS.md)."""
    phrase_confirm_ms: int | None = 150
    """Grammar mode: silence after a partial that is already a listed phrase before the utterance ends."""
    stable_silence_ms: int | None = 300
    """Free speech: silence after a partial that stopped changing before the utterance ends."""
    early_final: bool = True
    """Decode the final result while the end of the utterance is awaited (``VadSettings.early_final``)."""
    speculative_nlu: bool = True
    """Run the NLU on the stable hypothesis while the end is awaited; a turn with exactly that text
    reuses the result (``bot.conversation.speculation``)."""
    speak_ahead: bool = True
    """Synthesise the answer's first sentence as soon as the dialogue replies, while the turn is
    recorded (it is sent once the turn is)."""
    grammar_snap_threshold: float | None = 0.6
    """Grammar results below this confidence are empty (the dialogue asks again); None: no snapping."""
    recogniser_pool_size: int = 4
    """Utterances decoded at once per gateway process; more get ``stt_busy`` (503, Retry-After)."""
    recogniser_wait_s: float = 3.0
    """How long an uploaded recording waits for a free recogniser before ``stt_busy``."""
    synthesiser_streams: int = 4
    """Answers spoken at once per gateway process; more are shown as text only (``tts_busy``)."""
    recogniser_nice: int = 5
    """Nice value of the decoding threads (higher = lower priority than text turns)."""
    vad_engine: str = "silero"
    """Frame classifier of the endpointer: ``silero`` or ``webrtc`` (``bench/vad.py`` compares them)."""
    vad_aggressiveness: int = 2
    """webrtcvad mode 0–3."""
    vad_silero_threshold: float = 0.5
    """Silero speech probability that opens voiced audio."""
    max_utterance_ms: int = 20000
    """Longest utterance before it is cut."""
    voice: str = "cmn"
    """espeak-ng voice of the synthesiser."""
    speech_rate: int = 175
    """Words per minute of the synthesiser."""
    tts_timeout_s: float = 10.0
    """Watchdog deadline of one synthesised sentence."""

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> SpeechSettings:
        """Defaults, then the config file's ``[speech]`` table, then non-None overrides (CLI)."""
        table = config.extra.get("speech", {})
        if not isinstance(table, dict):
            raise ConfigError("[speech] must be a table")
        values = {**table, **{k: v for k, v in overrides.items() if v is not None}}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(values) - set(fields)
        if unknown:
            raise ConfigError(f"unknown speech setting(s): {', '.join(sorted(unknown))}")
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """ConfigError for values no engine accepts."""
        if self.vad_engine not in CLASSIFIERS:
            raise ConfigError(f"speech.vad_engine must be one of {', '.join(sorted(CLASSIFIERS))}")
        if not 0.2 <= self.vad_silero_threshold <= 0.95:
            raise ConfigError("speech.vad_silero_threshold must be 0.2–0.95")
        if not 0 <= self.vad_aggressiveness <= 3:
            raise ConfigError("speech.vad_aggressiveness must be 0–3")
        if not 90 <= self.trailing_silence_ms <= 5000:
            raise ConfigError("speech.trailing_silence_ms must be 90–5000")
        if not 1000 <= self.max_utterance_ms <= 120000:
            raise ConfigError("speech.max_utterance_ms must be 1000–120000")
        for name in ("phrase_confirm_ms", "stable_silence_ms"):
            value = getattr(self, name)
            if value is not None and not 60 <= value <= 5000:
                raise ConfigError(f"speech.{name} must be 60–5000")
        if not 1 <= self.recogniser_pool_size <= 256:
            raise ConfigError("speech.recogniser_pool_size must be 1–256")
        if not 0 <= self.recogniser_wait_s <= 30:
            raise ConfigError("speech.recogniser_wait_s must be 0–30")
        if not 1 <= self.synthesiser_streams <= 256:
            raise ConfigError("speech.synthesiser_streams must be 1–256")
        if not 0 <= self.recogniser_nice <= 19:
            raise ConfigError("speech.recogniser_nice must be 0–19")
        if self.grammar_snap_threshold is not None and not 0 <= self.grammar_snap_threshold <= 1:
            raise ConfigError("speech.grammar_snap_threshold must be 0–1")

    def vad(self) -> VadSettings:
        """Endpointer settings."""
        return VadSettings(
            engine=self.vad_engine,
            aggressiveness=self.vad_aggressiveness,
            silero_threshold=self.vad_silero_threshold,
            trailing_silence_ms=self.trailing_silence_ms,
            max_utterance_ms=self.max_utterance_ms,
            phrase_confirm_ms=self.phrase_confirm_ms,
            stable_silence_ms=self.stable_silence_ms,
            early_final=self.early_final,
        )

    def voice_settings(self) -> VoiceSettings:
        """Synthesiser settings."""
        return VoiceSettings(voice=self.voice, rate=self.speech_rate, timeout_s=self.tts_timeout_s)
