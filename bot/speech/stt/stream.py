"""Streaming recognition with VAD endpointing: PCM in, partial and final results out.

The endpointer opens a recogniser session when speech starts (with its pre-roll), feeds it while the
utterance lasts and finalises it after the configured trailing silence. Audio outside utterances
never reaches the recogniser, so long silences cost neither CPU nor memory.

The end comes sooner when the words say the utterance is complete: in grammar mode once the partial
is one of the listed phrases and a short confirmation silence followed (``phrase_confirm_ms``); in
free speech once the partial has stopped changing for ``stable_silence_ms`` of silence.

The final result is decoded while the end is awaited (``early_final``): once the silence after the
speech is no longer decoded, the recogniser has heard everything the final would, so it is finalised
there and then (a ``stable`` update) and the end costs no decoding. Speech that resumes before the end
is decoded again from the utterance's start on a new recogniser, so the result is the one continuous
decoding gives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from bot.speech.audio import SAMPLE_RATE, pcm16_chunks
from bot.speech.stt.base import SpeechToText, SttError, SttSession
from bot.speech.stt.pool import RecogniserPool
from bot.speech.stt.snap import squash
from bot.speech.stt.text import clean_transcript
from bot.speech.vad import FRAME_BYTES, Endpointer, IsSpeech, VadEvent, VadEventType, VadSettings


@dataclass(frozen=True)
class SttUpdate:
    """A partial or final hypothesis of the current utterance."""

    final: bool
    text: str
    """The recognised words (unknown-word markers dropped); the product normalises them for NLU."""
    raw: str
    """As the recogniser produced it."""
    at_ms: int
    """Stream time (ms of audio consumed) when it was produced."""
    stable: bool = False
    """Not final, but the recogniser's final result for the utterance so far: the final's text
    unless speech resumes (what speculative work may start on)."""


DECODED_SILENCE_MS = 180
"""Silence after speech that is still decoded at once. Later silence is held back while the endpointer
waits for the end of the utterance: the recogniser does not spend the wait decoding it (so the final
result is not queued behind it), and a pause followed by more speech is decoded in order after all."""
GRAMMAR_DECODED_SILENCE_MS = 420
"""The same in grammar mode, where the partial ends the utterance: Vosk's partials trail the audio by
up to ~300 ms (it decodes in chunks), so the silence after a phrase is decoded until the phrase shows."""


class UtteranceStream:
    """One audio stream, any number of utterances, one recogniser session per utterance."""

    def __init__(
        self,
        engine: SpeechToText,
        grammar: Sequence[str] | None = None,
        vad: VadSettings | None = None,
        is_speech: IsSpeech | None = None,
    ):
        if engine.info.sample_rate != SAMPLE_RATE:
            raise SttError(
                f"engine wants {engine.info.sample_rate} Hz audio; the pipeline gives {SAMPLE_RATE}"
            )
        self._engine = engine
        self._grammar = grammar
        self._endpointer = Endpointer(vad, is_speech)
        self._session: SttSession | None = None
        self._held: list[bytes] = []
        self._partial = ""
        self._partial_at = 0
        """Stream time of the last change of the open utterance's partial."""
        self._phrases = phrase_keys(grammar)
        """A complete phrase ends the utterance after the confirmation silence."""
        self._decoded_silence_ms = DECODED_SILENCE_MS if grammar is None else GRAMMAR_DECODED_SILENCE_MS
        self._early: str | None = None
        """The open utterance's final raw text, decoded while its end is awaited."""
        self._fed: list[bytes] = []
        """What the open utterance's recogniser was fed, chunk by chunk (decoded again, in the same
        chunks, when speech resumes: Vosk's i-vector weighting depends on them)."""
        self.early_ends = 0
        """Utterances closed before the full trailing silence because their words were complete."""
        self.redecodes = 0
        """Utterances decoded again because speech resumed after their final was decoded early."""

    @property
    def stream_ms(self) -> int:
        """Audio consumed so far."""
        return self._endpointer.stream_ms

    @property
    def utterance_ms(self) -> int:
        """Length of the utterance being heard now (0 between utterances)."""
        return self._endpointer.utterance_ms

    def feed(self, pcm: bytes) -> list[SttUpdate]:
        """Consume 16 kHz mono PCM16; returns the hypotheses it produced."""
        updates: list[SttUpdate] = []
        for offset in range(0, len(pcm), FRAME_BYTES):  # frame by frame: the end may come mid-chunk
            updates += self._handle(self._endpointer.feed(pcm[offset : offset + FRAME_BYTES]))
            if self._session is not None and self._complete():
                self.early_ends += 1
                updates += self._handle(self._endpointer.cut())
        return updates

    def _complete(self) -> bool:
        """Whether the open utterance's words are complete and enough silence confirmed it."""
        silence = self._endpointer.silence_ms
        settings = self._endpointer.settings
        stable = settings.stable_silence_ms
        if self._early is not None:  # the recogniser has given its final: nothing left to add
            return stable is not None and silence >= stable
        if silence == 0 or not self._partial:
            return False
        confirm = settings.phrase_confirm_ms
        if confirm is not None and (longer := self._phrases.get(squash(self._partial))) is not None:
            return silence >= confirm * (2 if longer else 1)
        return (
            stable is not None
            and silence >= stable
            and self._endpointer.stream_ms - self._partial_at >= stable
        )

    def finish(self) -> list[SttUpdate]:
        """End of the audio: finalise an utterance still open."""
        return self._handle(self._endpointer.flush())

    def _handle(self, events: Iterable[VadEvent]) -> list[SttUpdate]:
        updates: list[SttUpdate] = []
        for event in events:
            if event.type is VadEventType.START:
                # Taken only now: a stream that hears no speech holds no recogniser (the engine
                # keeps finished ones, so this is quick; ``VoskSpeechToText.warm`` readies the first).
                self._session = self._engine.start(self._grammar)
                self._held, self._early, self._fed = [], None, []
                self._partial, self._partial_at = "", event.at_ms
            if self._session is None:
                continue
            if event.type is VadEventType.END:
                # the held trailing silence is never decoded (nor was it when the final came early)
                raw = self._session.finish() if self._early is None else self._early
                self._session, self._held, self._early, self._fed = None, [], None, []
                updates.append(SttUpdate(True, clean_transcript(raw), raw, event.at_ms))
            elif event.silence_ms > self._decoded_silence_ms:
                self._held.append(event.audio)  # likely the trailing silence: decode only if speech resumes
                if self._early is None and self._endpointer.settings.early_final:
                    updates.append(self._finish_early(self._session, event.at_ms))
            elif (partial := self._accept(self._session, self._release(event.audio))) is not None:
                self._partial, self._partial_at = partial, event.at_ms
                updates.append(SttUpdate(False, clean_transcript(partial), partial, event.at_ms))
        return updates

    def _finish_early(self, session: SttSession, at_ms: int) -> SttUpdate:
        """The final, decoded now: the recogniser has had every sample the end would give it."""
        raw = self._early = session.finish()
        self._partial, self._partial_at = raw, at_ms
        return SttUpdate(False, clean_transcript(raw), raw, at_ms, stable=True)

    def _accept(self, session: SttSession, audio: bytes) -> str | None:
        """Feed the open utterance's recogniser (a new one, given everything so far, when its final
        was decoded early and speech resumed)."""
        if self._early is not None:
            session = self._session = self._engine.start(self._grammar)
            for chunk in self._fed:
                session.accept(chunk)
            self._early = None
            self.redecodes += 1
        if self._endpointer.settings.early_final:
            self._fed.append(audio)
        return session.accept(audio)

    def _release(self, audio: bytes) -> bytes:
        """Held pause audio (speech resumed after it) followed by ``audio``."""
        if not self._held:
            return audio
        audio, self._held = b"".join([*self._held, audio]), []
        return audio


def phrase_keys(grammar: Sequence[str] | None) -> dict[str, bool]:
    """Comparable form of each phrase → whether a longer one begins with it (不用 / 不用了)."""
    keys = {squash(p) for p in grammar or () if squash(p)}
    return {k: any(len(o) > len(k) and o.startswith(k) for o in keys) for k in keys}


class AsyncUtteranceStream:
    """The async face of an UtteranceStream: every blocking call runs off the event loop, in order
    (on the recogniser pool's threads when one is given, else on asyncio's default ones)."""

    def __init__(self, stream: UtteranceStream, pool: RecogniserPool | None = None):
        self.stream = stream
        self._pool = pool
        self._lock = asyncio.Lock()

    async def feed(self, pcm: bytes) -> list[SttUpdate]:
        """Consume PCM in a worker thread."""
        async with self._lock:
            return await self._run(self.stream.feed, pcm)

    async def finish(self) -> list[SttUpdate]:
        """Finalise in a worker thread."""
        async with self._lock:
            return await self._run(self.stream.finish)

    async def _run(self, fn: Callable[..., list[SttUpdate]], *args: bytes) -> list[SttUpdate]:
        if self._pool is not None:
            return await self._pool.run(fn, *args)
        return await asyncio.to_thread(fn, *args)


@dataclass
class Transcript:
    """The result of recognising a whole recording."""

    utterances: list[str] = field(default_factory=list)
    """Final text of each utterance, in order (empty ones left out)."""
    audio_ms: int = 0

    @property
    def text(self) -> str:
        """All utterances joined."""
        return " ".join(self.utterances)


def transcribe_pcm(stream: UtteranceStream, chunks: Iterable[bytes]) -> Transcript:
    """Feed 16 kHz PCM chunks through ``stream`` and collect the finals."""
    result = Transcript()
    for chunk in chunks:
        result.utterances += [u.text for u in stream.feed(chunk) if u.final and u.text]
    result.utterances += [u.text for u in stream.finish() if u.final and u.text]
    result.audio_ms = stream.stream_ms
    return result


def transcribe_wav(
    engine: SpeechToText,
    wav: BinaryIO,
    grammar: Sequence[str] | None = None,
    vad: VadSettings | None = None,
) -> Transcript:
    """A WAV stream (any common format) → transcript; AudioError for what is not audio."""
    return transcribe_pcm(UtteranceStream(engine, grammar, vad), pcm16_chunks(wav))
