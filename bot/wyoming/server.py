"""The Wyoming server: one handler per connection, on the ``wyoming`` package's TCP server.

A connection carries one request the way Home Assistant sends it: ``describe``; ``transcribe`` then
``audio-start``/``audio-chunk``…/``audio-stop``; ``synthesize``; or ``transcript``. Failures become
``error`` events with our error codes. Speech and synthesis failures end the connection after the
error (Home Assistant then reports the stage as failed); a failed conversation turn also answers
``not-handled``. A peer that sends garbage, oversized events or goes quiet mid-stream is cut off,
and its recogniser slot is given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler, AsyncTcpServer
from wyoming.tts import Synthesize

from bot.config import Config
from bot.conversation.pipeline import Speech, load_speech
from bot.errors import APOLOGY, BotError, InputError
from bot.gateway.settings import GatewaySettings
from bot.speech.stt.base import SttError
from bot.speech.tts.base import TtsError
from bot.wyoming.asr import Slots, Transcription
from bot.wyoming.events import WireError, read_event
from bot.wyoming.handle import GatewayDialogue, handle
from bot.wyoming.info import describe
from bot.wyoming.settings import WyomingSettings, host_port
from bot.wyoming.tts import synthesize

_LOGGER = logging.getLogger(__name__)
MAX_TRANSCRIPTIONS = 4
"""Audio streams recognised at once; more get ``stt_busy`` (each holds a recogniser)."""


@dataclass
class Limits:
    """What one connection may send."""

    max_audio_s: float
    """Longest audio of one transcription (the gateway's ``max_audio_s``)."""
    idle_timeout_s: float
    max_event_bytes: int


class WyomingService:
    """The engines, the dialogue client and the TCP server of one ``bot wyoming serve``."""

    def __init__(
        self,
        settings: WyomingSettings,
        engines: Speech,
        dialogue: GatewayDialogue,
        max_audio_s: float = GatewaySettings.max_audio_s,
    ):
        self.settings = settings
        self.engines = engines
        self.dialogue = dialogue
        self.limits = Limits(max_audio_s, settings.idle_timeout_s, settings.max_event_bytes)
        self.slots = Slots(MAX_TRANSCRIPTIONS)
        self.handlers: set[WyomingHandler] = set()
        """Open connections."""
        self._server: AsyncTcpServer | None = None

    @classmethod
    async def load(cls, config: Config, settings: WyomingSettings | None = None) -> WyomingService:
        """The service of ``config``: its ``[wyoming]`` settings, ``[speech]`` engines, gateway limits."""
        settings = settings or WyomingSettings.from_config(config)
        engines = await load_speech(config)  # the gateway's model and voice, loaded the same way
        dialogue = GatewayDialogue(settings.gateway_url, settings.turn_timeout_s)
        return cls(settings, engines, dialogue, GatewaySettings.from_config(config).max_audio_s)

    def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> WyomingHandler:
        """A handler for a new connection."""
        return WyomingHandler(reader, writer, self)

    async def start(self) -> None:
        """Listen on the configured URI (StackError-like BotError when the port is taken)."""
        host, port = host_port(self.settings.uri)
        self._server = AsyncTcpServer(host, port)
        try:
            await self._server.start(self.handler)
        except OSError as err:
            self._server = None
            raise BotError(
                f"Wyoming service cannot listen on {self.settings.uri}: {err.strerror}", code="port_in_use"
            ) from err
        _LOGGER.info("Wyoming service listening on %s", self.settings.uri)

    async def stop(self) -> None:
        """Stop listening, end open connections, release the engines and the HTTP session."""
        if self._server is not None:
            await self._server.stop()
            self._server = None
        for handler in list(self.handlers):
            await handler.stop()
        await self.dialogue.close()
        self.engines.close()


class WyomingHandler(AsyncEventHandler):
    """One connection: at most one transcription open at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, service: WyomingService):
        super().__init__(reader, writer)
        self._service = service
        self._limits = service.limits
        self._language: str | None = None
        self._transcription: Transcription | None = None

    async def run(self) -> None:
        """Read bounded events until the peer closes, breaks the protocol, goes idle or an error ends it."""
        self._service.handlers.add(self)
        try:
            while await self._next():
                pass
        except (ConnectionError, RuntimeError) as err:
            _LOGGER.info("Wyoming peer went away: %s", type(err).__name__)
        finally:
            self._service.handlers.discard(self)
            await self.disconnect()
            self.writer.close()

    async def _next(self) -> bool:
        try:
            async with asyncio.timeout(self._limits.idle_timeout_s):
                event = await read_event(self.reader, self._limits.max_event_bytes)
        except TimeoutError:
            if self._transcription is not None:
                await self._error(
                    InputError("长时间没有收到音频，连接已关闭", code="idle_timeout", status=408)
                )
            return False
        except WireError as err:
            await self._error(err)
            return False
        return event is not None and await self.handle_event(event)

    async def disconnect(self) -> None:
        """The connection ended: an open transcription is dropped and its slot given back."""
        self._close_transcription()

    async def handle_event(self, event: Event) -> bool:
        """Answer one event; False ends the connection."""
        try:
            return await self._dispatch(event)
        except BotError as err:
            await self._error(err)
        except (KeyError, TypeError, ValueError) as err:
            await self._error(WireError(f"{event.type} 事件的数据不完整或格式不对", code="bad_event"))
            _LOGGER.info("malformed %s event: %s", event.type, type(err).__name__)
        except (ConnectionError, RuntimeError):
            raise
        except Exception:
            _LOGGER.exception("Wyoming %s event failed", event.type)
            await self._error(BotError(APOLOGY))
        return False

    async def _dispatch(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self.write_event(describe(self._service.engines).event())
        elif Transcribe.is_type(event.type):
            self._language = Transcribe.from_event(event).language
        elif AudioStart.is_type(event.type):
            self._open_transcription(AudioStart.from_event(event))
        elif AudioChunk.is_type(event.type):
            await self._opened().feed(AudioChunk.from_event(event))
        elif AudioStop.is_type(event.type):
            text = await self._opened().finish()
            self._close_transcription()
            await self.write_event(Transcript(text=text, language=self._language).event())
        elif Synthesize.is_type(event.type):
            await self._synthesize(Synthesize.from_event(event))
        elif Transcript.is_type(event.type):
            transcript = Transcript.from_event(event)
            for answer in await handle(transcript, self._service.settings, self._service.dialogue):
                await self.write_event(answer)
        elif Ping.is_type(event.type):
            await self.write_event(Pong(text=Ping.from_event(event).text).event())
        return True  # events of other programs are dropped, as Wyoming peers expect

    def _open_transcription(self, start: AudioStart) -> None:
        stt = self._service.engines.stt
        if stt is None:
            raise SttError("语音识别暂时不可用", code="stt_unavailable")
        if self._transcription is not None:
            raise InputError("上一段音频还没有结束", code="audio_active", status=409)
        self._service.slots.take()
        try:
            vad = self._service.engines.settings.vad()
            self._transcription = Transcription(start, stt, vad, self._limits.max_audio_s)
        except BaseException:
            self._service.slots.give()
            raise

    def _opened(self) -> Transcription:
        if self._transcription is None:
            raise InputError("请先发送 audio-start", code="audio_not_started")
        return self._transcription

    def _close_transcription(self) -> None:
        if self._transcription is not None:
            self._transcription = None
            self._service.slots.give()

    async def _synthesize(self, request: Synthesize) -> None:
        tts = self._service.engines.tts
        if tts is None:
            raise TtsError("语音合成暂时不可用", code="tts_unavailable")
        if not isinstance(request.text, str):
            raise InputError("synthesize 需要文字 text", code="text_required")
        async for event in synthesize(tts, request.text, self._service.engines.synthesisers()):
            await self.write_event(event)

    async def _error(self, err: BotError) -> None:
        """An ``error`` event with our code (an open transcription is dropped)."""
        self._close_transcription()
        text = err.message if err.status < 500 or err.code in _SPOKEN_CODES else APOLOGY
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.write_event(Error(text=text, code=err.code).event())


_SPOKEN_CODES = frozenset(
    {"stt_unavailable", "tts_unavailable", "stt_busy", "tts_busy", "tts_timeout", "tts_failed"}
)
"""Server-side failures whose own (Chinese) message is clearer than the apology."""


async def serve(config: Config, settings: WyomingSettings, ready: asyncio.Event | None = None) -> None:
    """Run the service until cancelled (``bot wyoming serve``)."""
    service = await WyomingService.load(config, settings)
    try:
        await service.start()
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await service.stop()
