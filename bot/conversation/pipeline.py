"""The voice turn pipeline: audio → STT (streaming, VAD endpointing, grammar per dialogue state) → the
same TurnRunner text turn → TTS → pipeline events.

Engines are synchronous and sit behind ``bot.speech.stt``/``bot.speech.tts``; this is the one async
layer: decoding runs on the recogniser pool's threads, waiting for the synthesiser on the
synthesiser pool's, everything else (database work) on the event loop's default executor, which the
gateway bounds (``bot.gateway.app``). The engines are loaded once per gateway process
(:func:`load_speech`, from the app's ``cleanup_ctx``); a gateway without a provisioned model still
serves text turns and reports the STT component down, naming the folder to provision.

Grammar mode: after each turn the runner remembers the dialogue state
(``bot.conversation.dialogue_state``); when it expects a closed answer, the next utterance is
recognised against that state's phrase list (``bot.conversation.grammar``), and decoded again
freely when the grammar heard nothing (or cannot be built for the model).
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
import wave
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

import numpy as np
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.conversation.boundary import verdict_of
from bot.conversation.dialogue import Reply
from bot.conversation.dialogue_state import DialogueState, grammar_state
from bot.conversation.grammar import grammar_for_state
from bot.conversation.speculation import Speculation
from bot.conversation.turns import TurnRequest, TurnRunner
from bot.errors import APOLOGY, BotError, InputError
from bot.events import EventLog, EventType
from bot.nlu.normalize import checked_turn_text, normalize
from bot.speech import registry
from bot.speech.audio import SAMPLE_RATE, Resampler, decode, pcm16_chunks
from bot.speech.places import Slot
from bot.speech.settings import SpeechSettings
from bot.speech.stt.base import SpeechToText, SttError, SttInfo, SttSession
from bot.speech.stt.pool import RecogniserPool, SttBusy
from bot.speech.stt.stream import AsyncUtteranceStream, SttUpdate, UtteranceStream
from bot.speech.stt.text import clean_transcript
from bot.speech.stt.vosk_engine import VoskSpeechToText
from bot.speech.tts.base import NORMAL_PACE, SLOW_PACE, TextToSpeech, TtsError
from bot.speech.tts.pool import SynthPool, TtsBusy
from bot.speech.tts.pyttsx3_engine import Pyttsx3TextToSpeech
from bot.speech.wake import WakeSpotter
from bot.store.db import session_scope
from bot.store.repo import DeviceRef
from bot.tenants.config import tenant_config_of, wake_phrase_of

_LOGGER = logging.getLogger(__name__)

NO_SPEECH = "没有听清，请再说一遍"
T = TypeVar("T")
HOLD_POLL_S = 0.05
"""How often a held-open answer checks for the end of playback while the client still listens."""
Sink = Callable[[dict[str, Any] | bytes], None]
"""Where a live run's output goes, in order: JSON events and WAV bytes."""


@dataclass
class Speech:
    """The speech engines of one gateway process (None when down, with the reason)."""

    settings: SpeechSettings
    stt: SpeechToText | None = None
    stt_error: str | None = None
    tts: TextToSpeech | None = None
    tts_error: str | None = None

    failures: dict[str, tuple[str, float]] = field(default_factory=dict)
    """Component → (error code, monotonic time) of its last use, when that use failed."""
    pool: RecogniserPool | None = None
    """Where utterances are decoded (created from the settings on first use)."""
    synth: SynthPool | None = None
    """Where answers are waited for while they are synthesised (created on first use)."""

    def recognisers(self) -> RecogniserPool:
        """The bounded recogniser pool of this process."""
        if self.pool is None:
            s = self.settings
            self.pool = RecogniserPool(s.recogniser_pool_size, s.recogniser_nice)
        return self.pool

    def synthesisers(self) -> SynthPool:
        """The bounded synthesiser pool of this process."""
        if self.synth is None:
            self.synth = SynthPool(self.settings.synthesiser_streams)
        return self.synth

    def failed(self, component: str, err: BotError) -> None:
        """A use of the engine failed (crash, hang): the component is red until a use works again."""
        self.failures[component] = (err.code, time.monotonic())

    def worked(self, component: str) -> None:
        """A use of the engine worked."""
        self.failures.pop(component, None)

    def health(self) -> dict[str, dict[str, Any]]:
        """The ``stt`` and ``tts`` components of ``/healthz`` (not required for text turns)."""
        out: dict[str, dict[str, Any]] = {}
        for name, engine, error in (("stt", self.stt, self.stt_error), ("tts", self.tts, self.tts_error)):
            if engine is None:
                out[name] = {"ok": False, "required": False, "error": error or "not configured"}
                continue
            out[name] = {"ok": True, "required": False, "engine": engine.info.name}
            if name in self.failures:
                code, at = self.failures[name]
                failed_s_ago = round(time.monotonic() - at, 1)
                out[name].update(ok=False, error=code, failed_s_ago=failed_s_ago)
        return out

    def close(self) -> None:
        """Stop the synthesiser's and the recognisers' threads."""
        close = getattr(self.tts, "close", None)
        if callable(close):
            close()
        if self.pool is not None:
            self.pool.close()
        if self.synth is not None:
            self.synth.close()


async def load_speech(config: Config) -> Speech:
    """Load the recogniser model and start the synthesiser once; failures are reported, not raised."""
    settings = SpeechSettings.from_config(config)
    speech = Speech(settings)
    try:
        model = registry.resolve(settings.model, config.models_dir)
        engine = VoskSpeechToText(model.path, model.language, model.name, settings.grammar_snap_threshold)
        await asyncio.to_thread(engine.load)
        await asyncio.to_thread(engine.warm)
        speech.stt = engine
    except BotError as err:
        speech.stt_error = err.message
        _LOGGER.warning("speech recognition down: %s", err.message)
    tts = Pyttsx3TextToSpeech(settings.voice_settings())
    try:
        await asyncio.to_thread(tts.synthesize, "好")
        speech.tts = tts
    except BotError as err:
        tts.close()
        speech.tts_error = err.message
        _LOGGER.warning("speech synthesis down: %s", err.message)
    return speech


class _FallbackSession:
    """A grammar-mode session that decodes the utterance again freely when the grammar heard nothing."""

    def __init__(self, engine: SpeechToText, inner: SttSession, max_bytes: int):
        self._engine, self._inner, self._max = engine, inner, max_bytes
        self._audio = bytearray()

    def accept(self, pcm: bytes) -> str | None:
        if len(self._audio) < self._max:
            self._audio += pcm
        return self._inner.accept(pcm)

    def finish(self) -> str:
        raw = self._inner.finish()
        if clean_transcript(raw):
            return raw
        free = self._engine.start(None)
        free.accept(bytes(self._audio))
        return free.finish()


class GrammarWithFallback:
    """A SpeechToText that tries grammar mode and falls back to free recognition."""

    def __init__(self, engine: SpeechToText, max_utterance_ms: int):
        self._engine = engine
        self._max_bytes = SAMPLE_RATE * 2 * max_utterance_ms // 1000

    @property
    def info(self) -> SttInfo:
        """The wrapped engine's capabilities."""
        return self._engine.info

    def start(self, grammar: Sequence[str] | None = None) -> SttSession:
        """Grammar session with fallback, or a free one."""
        if grammar is None:
            return self._engine.start(None)
        try:
            inner = self._engine.start(grammar)
        except SttError as err:
            _LOGGER.info("grammar not usable with this model (%s): free recognition", err.code)
            return self._engine.start(None)
        return _FallbackSession(self._engine, inner, self._max_bytes)


class _WatchedSession:
    """A recogniser session that reports its failures and successes to the ``stt`` component."""

    def __init__(self, inner: SttSession, speech: Speech):
        self._inner, self._speech = inner, speech

    def accept(self, pcm: bytes) -> str | None:
        try:
            return self._inner.accept(pcm)
        except SttError as err:
            self._speech.failed("stt", err)
            raise

    def finish(self) -> str:
        try:
            text = self._inner.finish()
        except SttError as err:
            self._speech.failed("stt", err)
            raise
        self._speech.worked("stt")
        return text


class _Watched:
    """A SpeechToText whose sessions report to the ``stt`` component of ``/healthz``."""

    def __init__(self, engine: SpeechToText, speech: Speech):
        self._engine, self._speech = engine, speech

    @property
    def info(self) -> SttInfo:
        """The wrapped engine's capabilities."""
        return self._engine.info

    def start(self, grammar: Sequence[str] | None = None) -> SttSession:
        """A watched session."""
        try:
            return _WatchedSession(self._engine.start(grammar), self._speech)
        except SttError as err:
            self._speech.failed("stt", err)
            raise


class LiveLog(EventLog):
    """An EventLog that also hands every event (and the synthesised audio) to a sink as it happens."""

    def __init__(self, sink: Sink | None = None):
        super().__init__()
        self._sink = sink

    def add(self, type_: EventType, **data: Any) -> None:
        """Record and forward an event."""
        super().add(type_, **data)
        if self._sink is not None:
            self._sink(self.events[-1].to_json())

    def audio(self, wav: bytes) -> None:
        """Forward a WAV chunk."""
        if self._sink is not None:
            self._sink(wav)


def to_16k(pcm: bytes, resampler: Resampler | None) -> bytes:
    """A client's PCM16 frame at the pipeline's rate (400 for a frame of odd length)."""
    if len(pcm) % 2:
        raise InputError("PCM16 帧的字节数必须是偶数", code="bad_frame")
    return pcm if resampler is None else resampler.push(decode(pcm, "pcm", 16, 1))


class Listener:
    """The audio side of one spoken turn: any-rate PCM16 in, partial and final hypotheses out."""

    def __init__(
        self, stream: AsyncUtteranceStream, sample_rate: int, max_audio_s: float, slot: Slot | None = None
    ):
        self._stream = stream
        self._slot = slot
        self._resampler = None if sample_rate == SAMPLE_RATE else Resampler(sample_rate)
        self._max_samples = int(max_audio_s * sample_rate)
        self._samples = 0

    async def feed(self, pcm: bytes) -> list[SttUpdate]:
        """Consume a PCM16 frame at the stream's rate."""
        if len(pcm) % 2:
            raise InputError("PCM16 帧的字节数必须是偶数", code="bad_frame")
        self._samples += len(pcm) // 2
        if self._samples > self._max_samples:
            raise InputError("说话时间太长了，请简短一些", code="audio_too_long", status=413)
        return normalised(await self._stream.feed(to_16k(pcm, self._resampler)))

    async def finish(self) -> list[SttUpdate]:
        """End of the audio."""
        updates: list[SttUpdate] = []
        if self._resampler is not None:
            updates += await self._stream.feed(self._resampler.push(np.zeros(0, np.float32), last=True))
        return normalised(updates + await self._stream.finish())

    @property
    def utterance_ms(self) -> int:
        """Length of the speech being heard now (0 between utterances)."""
        return self._stream.stream.utterance_ms

    def close(self) -> None:
        """The utterance is over (or abandoned): its recogniser slot goes back to the pool."""
        if self._slot is not None:
            self._slot.release()


class BargeIn(Protocol):
    """The client's microphone while the answer is spoken: speech on it stops the answer."""

    stop: asyncio.Event
    """Set when the user started speaking over the answer."""

    async def listen(self) -> None:
        """Start listening (the turn has run: the next utterance's grammar is known)."""
        ...

    def active(self) -> bool:
        """Whether the client is still streaming its microphone (so barge-in is possible)."""
        ...


class WakeListener:
    """The always-on side of a device: any-rate PCM16 in, the wake phrase out."""

    def __init__(self, spotter: WakeSpotter, sample_rate: int, pool: RecogniserPool):
        self.spotter = spotter
        self._resampler = None if sample_rate == SAMPLE_RATE else Resampler(sample_rate)
        self._pool = pool

    async def feed(self, pcm: bytes) -> bool:
        """Consume a PCM16 frame; True when it completed the wake phrase."""
        return bool(await self._pool.run(self.spotter.feed, to_16k(pcm, self._resampler)))


class VoicePipeline:
    """Spoken turns over the shared TurnRunner."""

    def __init__(self, runner: TurnRunner, speech: Speech, engine: Engine, max_audio_s: float):
        self.runner = runner
        self.speech = speech
        self._engine = engine
        self._max_audio_s = max_audio_s

    def recogniser(self) -> SpeechToText:
        """The loaded recogniser, or SttError (503) saying why there is none."""
        if self.speech.stt is None:
            _LOGGER.info("spoken turn refused: no recogniser")
            raise SttError("语音识别暂时不可用，请用文字输入", code="stt_unavailable")
        fallback = GrammarWithFallback(self.speech.stt, self.speech.settings.max_utterance_ms)
        return _Watched(fallback, self.speech)

    def speculation(self) -> Speculation | None:
        """NLU ahead of the final for one voice session (None when ``speech.speculative_nlu`` is off)."""
        return Speculation(self.runner.dialogue) if self.speech.settings.speculative_nlu else None

    async def grammar_for(self, device: DeviceRef) -> list[str] | None:
        """Phrases the next utterance is expected to be among, from the dialogue state (or None)."""
        state = grammar_state(await self.runner.state_of(device))
        if state is None:
            return None

        def phrases() -> list[str] | None:
            with session_scope(self._engine) as session:
                return grammar_for_state(session, device.tenant_id, state)

        return await asyncio.to_thread(phrases)

    async def wake_listener(self, device: DeviceRef, sample_rate: int) -> WakeListener:
        """A spotter for the device's tenant's wake phrase on a continuous stream."""
        stt = self.recogniser()

        def phrase() -> str:
            with session_scope(self._engine) as session:
                return wake_phrase_of(tenant_config_of(session, device.tenant_id))

        spotter = WakeSpotter(self.speech.stt or stt, await asyncio.to_thread(phrase))
        return WakeListener(spotter, sample_rate, self.speech.recognisers())

    async def listen(self, device: DeviceRef, sample_rate: int) -> Listener:
        """A listener for one streamed utterance of this device."""
        stt = self.recogniser()
        pool = self.speech.recognisers()
        grammar = await self.grammar_for(device)  # before the slot: it may wait for the dialogue
        slot = pool.acquire()
        try:
            stream = UtteranceStream(stt, grammar, self.speech.settings.vad())
        except BaseException:
            slot.release()
            raise
        return Listener(AsyncUtteranceStream(stream, pool), sample_rate, self._max_audio_s, slot)

    async def audio_turn(
        self,
        device: DeviceRef,
        wav: bytes,
        turn_id: str | None,
        heard: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """A whole WAV → transcript → the text turn; a repeated ``turn_id`` returns the first outcome.

        ``heard`` is called once the audio is decoded (or replayed), before the turn runs.
        """
        stored = await self.runner.stored(device, turn_id)
        if stored is not None:
            return stored
        text = await self.transcribe(device, wav)
        if heard is not None:
            heard()
        log = EventLog()
        log.add(EventType.STT_FINAL, text=text)
        request = TurnRequest(device, text, turn_id, transcript=text, inspect=True)
        return await self.runner.run(request, log)

    async def transcribe(self, device: DeviceRef, wav: bytes) -> str:
        """A whole WAV → the turn's text, as a spoken turn of ``device`` hears it (its dialogue
        state's grammar, the recogniser pool, the same normalisation); 422 when nothing was heard."""
        stt = self.recogniser()
        pool = self.speech.recognisers()
        grammar = await self.grammar_for(device)  # a slot is held only while decoding, not while
        slot = await pool.claim(self.speech.settings.recogniser_wait_s)  # the state waits on turns
        try:
            stream = UtteranceStream(stt, grammar, self.speech.settings.vad())
            finals = await pool.run(self._transcribe, stream, wav)
        finally:
            slot.release()
        return spoken_text(finals)

    def _transcribe(self, stream: UtteranceStream, wav: bytes) -> list[str]:
        finals: list[str] = []
        for chunk in pcm16_chunks(io.BytesIO(wav), self._max_audio_s):
            finals += [normalize(u.text) for u in stream.feed(chunk) if u.final and u.text]
        return finals + [normalize(u.text) for u in stream.finish() if u.final and u.text]

    async def respond(self, request: TurnRequest, log: LiveLog, barge_in: BargeIn | None = None) -> None:
        """Run the turn and speak its replies; a failing component becomes a spoken apology.

        The turn (and its replies) is recorded before anything is spoken, so a barge-in that cuts
        the answer loses nothing from the conversation record. The first sentence is synthesised
        while the turn is being recorded (at the pace the device had), and sent once it is.
        """
        before = await self.runner.state_of(request.device)  # known: the listener read it
        early: list[FirstSentence] = []

        def synthesise(replies: list[Reply]) -> None:
            first = self._first_sentence(_spoken(replies), _pace(before))
            early.extend([first] if first is not None else [])

        try:
            outcome = await self.runner.run(request, log, end=False, on_replies=synthesise)
        except BotError as err:
            for first in early:
                first.discard()
            await self.fail(err, log)
            return
        spoken = _spoken([Reply(r["text"]) for r in outcome["replies"] if r.get("text")])
        state = await self.runner.state_of(request.device)  # read once; the next turn's grammar reuses it
        if barge_in is not None:
            await barge_in.listen()
        pace = _pace(state)
        ready = next((f for f in early if f.text == spoken and f.pace == pace), None)
        for first in early:
            if first is not ready:
                first.discard()
        await self.speak(spoken, log, pace, barge_in, ready)
        log.add(EventType.RUN_END, **verdict_of(outcome).to_json())

    def _first_sentence(self, text: str, pace: float) -> FirstSentence | None:
        """Start synthesising ``text``'s first sentence now (None without a synthesiser or text, or
        when ``speech.speak_ahead`` is off)."""
        tts = self.speech.tts
        if tts is None or not text.strip() or not self.speech.settings.speak_ahead:
            return None
        parts = tts.synthesize_stream(text, pace)
        waiting = self.speech.synthesisers().run(next, parts, None)
        return FirstSentence(text, pace, parts, asyncio.ensure_future(waiting))

    async def fail(self, err: BotError, log: LiveLog) -> None:
        """Error event, then its message spoken (a short apology for component failures), then run-end."""
        message = err.message if err.status < 500 or _is_chinese(err.message) else APOLOGY
        extra = {"retry_after_s": err.retry_after_s} if isinstance(err, SttBusy) else {}
        log.add(EventType.ERROR, code=err.code, message=message, status=err.status, **extra)
        await self.speak(message, log)
        log.add(EventType.RUN_END)

    async def speak(
        self,
        text: str,
        log: LiveLog,
        pace: float = NORMAL_PACE,
        barge_in: BargeIn | None = None,
        first: FirstSentence | None = None,
    ) -> None:
        """Synthesise ``text`` sentence by sentence at ``pace``: tts-start, WAV chunks, tts-end.

        With ``barge_in``, the answer counts as spoken until the client has had time to play it
        (while it still streams its microphone); speech in that time stops it with ``tts-stop``.
        ``first``: the same text at the same pace, its first sentence already under way.
        """
        tts = self.speech.tts
        if tts is None or not text.strip():
            return
        pool = self.speech.synthesisers()
        try:
            slot = pool.acquire()
        except TtsBusy as err:  # the answer's text is shown; nothing waits for a synthesiser
            log.add(EventType.ERROR, code=err.code, message=err.message, status=err.status)
            return
        try:
            await self._speak(tts, pool, text, log, pace, barge_in, first)
        finally:
            slot.release()

    async def _speak(
        self,
        tts: TextToSpeech,
        pool: SynthPool,
        text: str,
        log: LiveLog,
        pace: float,
        barge_in: BargeIn | None,
        first: FirstSentence | None = None,
    ) -> None:
        log.add(EventType.TTS_START, text=text, pace=pace)
        chunks, audio_s, started = 0, 0.0, time.monotonic()
        stop = barge_in.stop if barge_in is not None else None
        try:
            if first is not None:
                parts, pending = first.parts, first.task
            else:
                parts = await pool.run(tts.synthesize_stream, text, pace)
                pending = None
            while (wav := await _unless(stop, pending or pool.run(next, parts, None))) is not None:
                pending = None
                log.audio(wav)
                chunks += 1
                audio_s += _wav_seconds(wav)
            if barge_in is not None:
                await _hold_while_playing(barge_in, started + audio_s)
            if stop is not None and stop.is_set():
                played_ms = round((time.monotonic() - started) * 1000)
                log.add(EventType.TTS_STOP, reason="barge_in", played_ms=played_ms, chunks=chunks)
        except (TtsError, InputError) as err:
            if isinstance(err, TtsError):
                self.speech.failed("tts", err)
            log.add(
                EventType.ERROR, code=err.code, message="语音播报失败，请看屏幕上的文字", status=err.status
            )
        else:
            self.speech.worked("tts")
        log.add(EventType.TTS_END, chunks=chunks)


@dataclass
class FirstSentence:
    """An answer whose first sentence is being synthesised before the turn is recorded."""

    text: str
    pace: float
    parts: Iterator[bytes]
    """The synthesiser's sentences (the first one is ``task``'s)."""
    task: asyncio.Future[bytes | None]

    def discard(self) -> None:
        """Not spoken after all (other text or pace, or the turn failed): let the work end unobserved."""
        self.task.add_done_callback(lambda t: None if t.cancelled() else t.exception())


def _spoken(replies: list[Reply]) -> str:
    """What is said of the replies."""
    return "".join(r.text for r in replies if r.text)


def _pace(state: DialogueState | None) -> float:
    """The speaking pace a dialogue state asks for."""
    return SLOW_PACE if state is not None and state.pace == "slow" else NORMAL_PACE


async def _unless(stop: asyncio.Event | None, work: Awaitable[T]) -> T | None:
    """``work``'s result, or None as soon as ``stop`` is set (the work then finishes unobserved)."""
    if stop is None:
        return await work
    task = asyncio.ensure_future(work)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return task.result()
    task.add_done_callback(lambda t: t.exception())  # a late failure is of no interest any more
    return None


async def _hold_while_playing(barge_in: BargeIn, until: float) -> None:
    """Wait until the client has played the answer, barge-in happened or the client stopped listening."""
    while time.monotonic() < until and barge_in.active() and not barge_in.stop.is_set():
        try:
            await asyncio.wait_for(barge_in.stop.wait(), HOLD_POLL_S)
        except TimeoutError:
            continue


def _wav_seconds(wav: bytes) -> float:
    """Playing time of a WAV chunk."""
    try:
        with wave.open(io.BytesIO(wav), "rb") as w:
            return w.getnframes() / float(w.getframerate() or 1)
    except (wave.Error, EOFError):
        return 0.0


def normalised(updates: list[SttUpdate]) -> list[SttUpdate]:
    """The recogniser's hypotheses with the text every turn gets (words joined, fillers dropped)."""
    return [replace(u, text=normalize(u.text)) for u in updates]


def spoken_text(finals: list[str]) -> str:
    """The recognised utterances as one turn's text; 422 when nothing was understood."""
    joined = " ".join(f for f in finals if f)
    if not joined.strip():
        raise InputError(NO_SPEECH, code="no_speech", status=422)
    return checked_turn_text(joined)


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
