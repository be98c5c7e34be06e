"""``GET /api/v1/voice``: the streaming voice websocket (CONTRACTS.md §3).

Protocol, per run: the client sends ``{"type": "start", "sample_rate": 16000, "format": "pcm16",
"turn_id"?: "...", "token"?: "..."}`` then binary PCM16 mono frames, and ``{"type": "end"}`` when the
user lets go of the talk button (the VAD also ends the utterance by itself). The server sends JSON
pipeline events (``stt-partial``, ``stt-final``, ``intent``, ``dialogue``, ``card``, ``tts-start``,
``tts-end``, ``error``, ``run-end``) with binary WAV chunks between ``tts-start`` and ``tts-end``.
After ``run-end`` the client may start another run on the same socket.

Wake word: with ``"wake": true`` in ``start`` the run first listens for the tenant's wake phrase
(its configuration's ``wake_phrase``) on the continuous stream; other speech is ignored. When it is
heard the server sends a ``wake`` event and the turn's listening starts.

Barge-in: a client that keeps streaming its microphone while the answer is spoken can interrupt it.
Once the turn has run, the next utterance is already being listened to; when speech starts (the
VAD hears ``BARGE_IN_SPEECH_MS`` of it, or the recogniser words) the server stops the answer
(``tts-stop``, then ``tts-end`` and ``run-end``: the turn and its replies are recorded in full) and
the next run is open at once — the client sends no ``start`` for it and its ``stt-*`` events follow.
An answer counts as spoken until the client had time to play it.

Speculative NLU: the recogniser's final result is decoded while the endpointer still waits for
silence (an ``stt-partial`` with ``"stable": true``); the NLU runs on it then, and the turn reuses
that parse when the final is the same text (``bot.conversation.speculation``).

Speakers authenticate with the ``Authorization`` header, checked before the upgrade; browsers cannot
set it on a websocket, so the panel sends ``{"type": "auth", "token": "..."}`` (or the token in its
first ``start``) right after opening, within ``ws_auth_timeout_s`` (never in the URL, which ends up
in logs). Until then nothing else is accepted. Places, deadlines and the output budget:
``bot.gateway.voice_limits``. Listening in one run lasts at most ``ws_max_run_s`` (waiting for the
wake phrase ``ws_max_wake_s``); pings do not keep an idle socket open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from bot.conversation.boundary import verdict_of
from bot.conversation.pipeline import Listener, LiveLog, VoicePipeline, WakeListener
from bot.conversation.turns import TurnRequest
from bot.errors import APOLOGY, AuthError, BotError, InputError
from bot.events import EventType
from bot.gateway.caps import Claim, Saturated
from bot.gateway.guard import GUARD
from bot.gateway.keys import PIPELINE, SETTINGS
from bot.gateway.routes import authenticate_token, bearer_token, check_turn_id
from bot.gateway.settings import GatewaySettings
from bot.gateway.voice_limits import CLOSE_POLICY, VOICE, Outbox, VoiceLimits
from bot.nlu.normalize import checked_turn_text
from bot.speech.stt.pool import SttBusy
from bot.speech.stt.stream import SttUpdate
from bot.store.repo import DeviceRef

_LOGGER = logging.getLogger(__name__)
table = web.RouteTableDef()

MIN_RATE, MAX_RATE = 8000, 48000
BARGE_IN_SPEECH_MS = 300
"""Speech over the answer for this long (VAD, pre-roll included) stops it, words or not yet."""
MIC_LIVE_S = 1.0
"""A client that sent audio this recently still streams its microphone (barge-in is possible)."""


def setup(app: web.Application, settings: GatewaySettings) -> None:
    """The voice websockets' places."""
    app[VOICE] = VoiceLimits.from_settings(settings)


@table.get("/api/v1/voice")
async def voice(request: web.Request) -> web.WebSocketResponse:
    """Upgrade to the voice websocket: header auth and every place are checked before the upgrade."""
    _check_origin(request)
    app, limits = request.app, request.app[VOICE]
    source = app[GUARD].source(request)
    token, device = None, None
    if "Authorization" in request.headers:
        token = bearer_token(request.headers["Authorization"])
        device = (await authenticate_token(app, token, source)).device()
    ws = web.WebSocketResponse(max_msg_size=app[SETTINGS].ws_max_frame_bytes * 4)
    if not ws.can_prepare(request).ok:
        raise InputError("请使用 WebSocket 连接", code="websocket_required")
    place = limits.open.claim(str(device.device_id)) if device else limits.pending.claim(source)
    session = VoiceSession(request, ws, token, source, place)
    try:
        await ws.prepare(request)
        await session.serve()
    finally:
        await session.close()
    return ws


def _check_origin(request: web.Request) -> None:
    """Browsers send Origin: only pages of this gateway may open the socket."""
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        raise InputError("不允许从其他网站连接", code="bad_origin", status=403)


class VoiceSession:
    """One websocket: at most one run at a time, output sent in order by a single writer."""

    def __init__(
        self, request: web.Request, ws: web.WebSocketResponse, token: str | None, source: str, place: Claim
    ):
        self._app = request.app
        self._request = request
        self._ws = ws
        self._token = token
        self._source = source
        self._place = place
        """The socket's place: its device's once authenticated, its source's until then."""
        self._authenticated = token is not None
        self._device: DeviceRef | None = None
        self._settings: GatewaySettings = request.app[SETTINGS]
        self._pipeline: VoicePipeline = request.app[PIPELINE]
        self._out = Outbox(self._settings.ws_send_buffer_bytes)
        self._writer = asyncio.create_task(self._write())
        self._dropping: asyncio.Task[None] | None = None
        self._log: LiveLog | None = None
        self._listener: Listener | None = None
        self._turn_id: str | None = None
        self._responding: asyncio.Task[None] | None = None
        self._rate = 16000
        self._last_audio = 0.0
        now = time.monotonic()
        self._auth_deadline = now + self._settings.ws_auth_timeout_s
        self._last_message = now
        self._run_deadline: float | None = None
        """When the listening of the current run must have ended (None: not listening)."""
        self._barge: _BargeIn | None = None
        """Listening for the next utterance while the answer is spoken."""
        self._wake: WakeListener | None = None
        """Waiting for the wake phrase before the run's listening starts."""
        self._speculation = self._pipeline.speculation()

    async def serve(self) -> None:
        """Read messages until the client closes, goes idle, breaks the protocol or a limit."""
        while not self._ws.closed:
            try:
                async with asyncio.timeout(max(0.0, self._deadline() - time.monotonic())):
                    msg = await self._ws.receive()  # pings are answered inside and move no deadline
            except TimeoutError:
                if await self._expired():
                    return
                continue
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return
            self._last_message = time.monotonic()
            try:
                await self._handle(msg.type, msg.data)
            except AuthError as err:
                await self._refuse(err)
                return
            except Saturated as err:
                if not self._authenticated:
                    await self._refuse(err)
                    return
                await self._fail(err)
            except BotError as err:
                await self._fail(err)
            except Exception:
                _LOGGER.exception("voice websocket failed")
                await self._fail(BotError(APOLOGY))

    def _deadline(self) -> float:
        """The next moment something must have happened."""
        due = [self._last_message + self._settings.ws_idle_timeout_s]
        if not self._authenticated:
            due.append(self._auth_deadline)
        if self._run_deadline is not None:
            due.append(self._run_deadline)
        return min(due)

    async def _expired(self) -> bool:
        """A deadline passed: True when the socket is to be closed."""
        now = time.monotonic()
        if not self._authenticated and now >= self._auth_deadline:
            await self._refuse(AuthError("没有及时收到设备凭证，连接已关闭", code="auth_timeout"))
            return True
        if self._run_deadline is not None and now >= self._run_deadline:
            self._run_deadline = None
            await self._fail(InputError("这一轮说话时间太长了，已经结束", code="run_too_long", status=408))
            return False
        if now < self._last_message + self._settings.ws_idle_timeout_s:
            return False
        if self._responding is not None and not self._responding.done():
            self._last_message = now  # the answer is still coming: not idle
            return False
        await self._fail(InputError("长时间没有收到音频，连接已关闭", code="idle_timeout", status=408))
        return True

    async def _refuse(self, err: BotError) -> None:
        """An error event, then the socket closes (policy violation, the error code as reason)."""
        self._error(err)
        self._out.end()
        await asyncio.wait({self._writer}, timeout=self._settings.ws_send_timeout_s)
        await self._ws.close(code=CLOSE_POLICY, message=err.code.encode()[:120])

    async def close(self) -> None:
        """Let a running turn finish (nothing half-done), then flush the writer, close, free the place."""
        try:
            if self._responding is not None:
                with contextlib.suppress(Exception):
                    await self._responding
            self._drop_listener()
            if self._speculation is not None:
                self._speculation.drop()
            self._out.end()
            await asyncio.wait({self._writer})  # ends after the last item (or was cancelled)
            if self._dropping is not None:
                await self._dropping
            if not self._ws.closed and self._ws.prepared:
                await self._ws.close()
        finally:
            self._place.release()

    async def _handle(self, kind: WSMsgType, data: Any) -> None:
        if kind == WSMsgType.BINARY and not self._authenticated:
            raise AuthError("请先发送设备凭证", code="not_authenticated")
        if kind == WSMsgType.TEXT:
            await self._control(_message(data))
        elif kind == WSMsgType.BINARY:
            if len(data) > self._settings.ws_max_frame_bytes:
                raise InputError("音频帧太大", code="frame_too_large", status=413)
            await self._audio(data)

    async def _control(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if not self._authenticated and kind not in ("auth", "start"):
            raise AuthError("请先发送设备凭证", code="not_authenticated")
        if kind == "auth":
            await self._authenticate(message)
        elif kind == "start":
            await self._start(message)
        elif kind in ("end", "stop"):
            await self._end_of_audio()
        else:
            raise InputError("未知的消息类型", code="bad_message")

    async def _start(self, message: dict[str, Any]) -> None:
        if self._log is not None:
            raise InputError("上一轮对话还没有结束", code="run_active", status=409)
        device = await self._authenticate(message)
        rate = message.get("sample_rate", 16000)
        if message.get("format", "pcm16") != "pcm16":
            raise InputError("只支持 pcm16 格式", code="unsupported_format", status=415)
        if not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
            raise InputError(f"采样率必须在 {MIN_RATE}–{MAX_RATE} Hz 之间", code="bad_sample_rate")
        turn_id = check_turn_id(message.get("turn_id"))
        self._log = LiveLog(self._send)
        stored = await self._pipeline.runner.stored(device, turn_id)
        if stored is not None:
            self._replay(stored)
            return
        self._turn_id, self._rate = turn_id, rate
        if self._speculation is not None:
            self._speculation.drop()
        if message.get("wake") is True:
            self._wake = await self._pipeline.wake_listener(device, rate)
            self._run_deadline = time.monotonic() + self._settings.ws_max_wake_s
            return
        self._listener = await self._pipeline.listen(device, rate)
        self._run_deadline = time.monotonic() + self._settings.ws_max_run_s

    async def _authenticate(self, message: dict[str, Any]) -> DeviceRef:
        """Every run is authenticated (and rate-limited) again: a revoked token stops at once.

        The first time, the socket leaves its source's pending places for one of its device's.
        """
        if self._token is None:
            token = message.get("token")
            if not isinstance(token, str) or not token.strip():
                raise AuthError("缺少设备凭证", code="missing_token")
            self._token = token.strip()
        device = (await authenticate_token(self._app, self._token, self._source)).device()
        if not self._authenticated:
            place = self._app[VOICE].open.claim(str(device.device_id))
            self._place.release()
            self._place, self._authenticated = place, True
        self._device = device
        return device

    async def _audio(self, pcm: bytes) -> None:
        if self._log is None:
            raise InputError("请先发送 start 消息", code="not_started")
        self._last_audio = time.monotonic()
        if self._wake is not None:
            await self._woken(pcm)
            return
        if self._listener is None:
            if self._barge is not None:
                await self._barge.feed(pcm)
            return  # the utterance ended; frames still in flight are dropped
        for update in await self._listener.feed(pcm):
            if self._utterance(update):
                return

    async def _woken(self, pcm: bytes) -> None:
        """Spot the wake phrase; once heard, the turn's listening starts."""
        wake = self._wake
        if wake is None or self._log is None or self._device is None or not await wake.feed(pcm):
            return
        self._wake = None
        self._log.add(EventType.WAKE, phrase=wake.spotter.phrase)
        self._listener = await self._pipeline.listen(self._device, self._rate)
        self._run_deadline = time.monotonic() + self._settings.ws_max_run_s

    async def _end_of_audio(self) -> None:
        if self._log is None:
            raise InputError("请先发送 start 消息", code="not_started")
        if self._wake is not None:
            self._wake = None
            raise InputError("没有听到唤醒词", code="no_wake")
        if self._listener is None:
            return
        for update in await self._listener.finish():
            if self._utterance(update):
                return
        raise InputError("没有听清，请再说一遍", code="no_speech", status=422)

    def _utterance(self, update: SttUpdate) -> bool:
        """Report a hypothesis; True when a final with words started the turn."""
        text = update.text
        if self._log is None:
            return False
        if not update.final:
            if text:
                self._log.add(EventType.STT_PARTIAL, text=text, **({"stable": True} if update.stable else {}))
            if update.stable and self._speculation is not None:
                self._speculation.offer(text)
            return False
        if not text:
            return False  # noise: keep listening
        self._log.add(EventType.STT_FINAL, text=text)
        self._drop_listener()
        self._run_deadline = None
        self._responding = asyncio.create_task(self._respond(text, self._log))
        return True

    async def _respond(self, text: str, log: LiveLog) -> None:
        device = self._device
        if device is None:
            return
        barge = self._barge = _BargeIn(self, device)
        try:
            text = checked_turn_text(text)
            request = TurnRequest(device, text, self._turn_id, transcript=text, inspect=True)
        except BotError as err:
            await self._pipeline.fail(err, log)
        else:
            if self._speculation is not None:
                await self._speculation.settle(text)
            await self._pipeline.respond(request, log, barge)
        finally:
            self._turn_id = None
            if barge.stop.is_set() and barge.listener is not None:
                await self._next_run(barge)
            else:
                self._log, self._barge = None, None
                barge.close()

    async def _next_run(self, barge: _BargeIn) -> None:
        """After a barge-in: the next run is open with what was heard over the answer so far.

        It is authenticated (and rate-limited) like any run; meanwhile audio still goes to ``barge``.
        """
        try:
            await self._authenticate({})
        except BotError as err:
            self._log, self._barge = None, None
            barge.close()
            self._error(err)
            return
        self._log, self._barge = LiveLog(self._send), None
        self._listener = barge.listener
        self._run_deadline = time.monotonic() + self._settings.ws_max_run_s
        for update in barge.heard:
            if self._utterance(update):
                return

    def _replay(self, stored: dict[str, Any]) -> None:
        """A repeated turn_id: the first outcome's events again, nothing re-run."""
        for event in stored.get("events", []):
            if event.get("type") != EventType.RUN_END:
                self._send(event)
        data = {"replayed": True, **verdict_of(stored).to_json()}
        self._send({"type": EventType.RUN_END.value, "at_ms": 0.0, "data": data})
        self._log = None

    async def _fail(self, err: BotError) -> None:
        """Inside a listening run: spoken apology and run-end; otherwise just the error event."""
        if self._responding is not None and not self._responding.done():
            self._error(err)
            return
        self._drop_listener()
        log, self._log, self._turn_id, self._wake = self._log, None, None, None
        self._run_deadline = None
        if log is None:
            self._error(err)
            return
        await self._pipeline.fail(err, log)

    def _drop_listener(self) -> None:
        """The utterance is over: its recogniser goes back to the pool."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _error(self, err: BotError) -> None:
        self._send(
            {
                "type": EventType.ERROR.value,
                "at_ms": 0.0,
                "data": {"code": err.code, "message": err.message, "status": err.status},
            }
        )

    def _send(self, item: dict[str, Any] | bytes) -> None:
        """Queue output for the client; a client that lets too much pile up is dropped."""
        if self._dropping is None and not self._out.put(item):
            self._drop("output piled up")

    def _drop(self, why: str) -> None:
        """Close a client that does not keep up with its output (once)."""
        if self._dropping is None:
            _LOGGER.info("voice websocket closed: slow consumer (%s)", why)
            self._dropping = asyncio.create_task(self._close_slow())

    async def _close_slow(self) -> None:
        if asyncio.current_task() is not self._writer:
            self._writer.cancel()
        try:
            async with asyncio.timeout(1.0):  # a client that reads nothing never takes the close frame
                await self._ws.close(code=CLOSE_POLICY, message=b"slow_consumer", drain=False)
        except TimeoutError:
            pass
        transport = self._request.transport
        if transport is not None:
            transport.abort()

    async def _write(self) -> None:
        while (item := await self._out.get()) is not None:
            if self._ws.closed:
                continue
            try:
                async with asyncio.timeout(self._settings.ws_send_timeout_s):
                    if isinstance(item, bytes):
                        await self._ws.send_bytes(item)
                    else:
                        await self._ws.send_str(json.dumps(item, ensure_ascii=False))
            except TimeoutError:
                self._drop("a message took too long")
                return
            except (ConnectionError, RuntimeError):
                continue


class _BargeIn:
    """The next utterance, listened to while the answer is spoken; words in it stop the answer."""

    def __init__(self, session: VoiceSession, device: DeviceRef):
        self._session = session
        self._device = device
        self.stop = asyncio.Event()
        self.listener: Listener | None = None
        self.heard: list[SttUpdate] = []
        """Hypotheses of the next utterance, replayed into its run after the cut."""
        self._feeding = False
        self._opening: asyncio.Task[None] | None = None

    async def listen(self) -> None:
        """Start opening the next utterance's listener, alongside the answer (it reads the dialogue
        state for the grammar: the first audio must not wait for that)."""
        self._opening = asyncio.create_task(self._open())

    async def _open(self) -> None:
        try:
            self.listener = await self._session._pipeline.listen(self._device, self._session._rate)
        except SttBusy:
            _LOGGER.info("no recogniser free: this answer cannot be interrupted")

    def active(self) -> bool:
        """The client still streams its microphone (and a listener is or will be there)."""
        if self._opening is None or (self._opening.done() and self.listener is None):
            return False
        return self._feeding or time.monotonic() - self._session._last_audio < MIC_LIVE_S

    async def feed(self, pcm: bytes) -> None:
        """Audio heard over the answer."""
        if self._opening is None:
            return
        self._feeding = True  # a busy recogniser delays the next frames: the client is still there
        try:
            await asyncio.shield(self._opening)
            if self.listener is None:
                return
            updates = await self.listener.feed(pcm)
        finally:
            self._feeding = False
        self.heard += updates
        if any(u.text for u in updates) or self.listener.utterance_ms >= BARGE_IN_SPEECH_MS:
            self.stop.set()

    def close(self) -> None:
        """No barge-in happened: the listener goes back to the pool (once it is open)."""
        if self._opening is not None and not self._opening.done():
            self._opening.add_done_callback(lambda _: self.close())
            return
        if self.listener is not None:
            self.listener.close()
            self.listener = None


def _message(data: str) -> dict[str, Any]:
    try:
        message = json.loads(data)
    except json.JSONDecodeError as err:
        raise InputError("消息不是合法的 JSON", code="bad_json") from err
    if not isinstance(message, dict):
        raise InputError("消息必须是 JSON 对象", code="bad_json")
    return message
