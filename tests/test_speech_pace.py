"""「说慢一点」: the dialogue's ``speech_pace`` slot reaches the voice pipeline, which synthesises slower."""

from __future__ import annotations

import io
import wave
from typing import Any

from sqlalchemy.engine import Engine

from bot.conversation.dialogue_state import DialogueState, state_from_tracker
from bot.conversation.pipeline import Speech
from bot.speech.audio import SAMPLE_RATE
from bot.speech.settings import SpeechSettings
from bot.speech.tts.base import NORMAL_PACE, SLOW_PACE
from bot.speech.tts.pyttsx3_engine import Pyttsx3TextToSpeech
from tests.fakes import FakeDialogue, FakeStates, FakeStt, FakeTts
from tests.gateway_kit import ZHANG, make_client
from tests.test_voice_ws import speech_audio, stream_run


def test_the_pace_slot_is_dialogue_state() -> None:
    slow = state_from_tracker({"latest_message": {}, "slots": {"speech_pace": "slow"}})
    assert slow.pace == "slow"
    assert state_from_tracker({"latest_message": {}, "slots": {}}).pace is None


async def test_a_slow_session_is_spoken_at_the_slow_pace(aiohttp_client: Any, demo_db: Engine) -> None:
    tts = FakeTts()
    speech = Speech(SpeechSettings(), stt=FakeStt(["说慢一点"]), tts=tts)
    states = FakeStates(DialogueState(intent="speak_slower", pace="slow"))
    client = await make_client(aiohttp_client, demo_db, FakeDialogue(), speech=speech, states=states)
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        run = await stream_run(ws, speech_audio("说慢一点", "cmn", SAMPLE_RATE), SAMPLE_RATE)
    start = next(e for e in run if isinstance(e, dict) and e["type"] == "tts-start")
    # the first sentence was synthesised ahead at the pace the device had (normal), then thrown away
    assert start["data"]["pace"] == SLOW_PACE and tts.paces == [NORMAL_PACE, SLOW_PACE]


async def test_without_the_slot_the_configured_pace(aiohttp_client: Any, demo_db: Engine) -> None:
    tts = FakeTts()
    speech = Speech(SpeechSettings(), stt=FakeStt(["你好"]), tts=tts)
    client = await make_client(
        aiohttp_client, demo_db, FakeDialogue(), speech=speech, states=FakeStates(DialogueState())
    )
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        await stream_run(ws, speech_audio("你好", "cmn", SAMPLE_RATE), SAMPLE_RATE)
    assert tts.paces == [NORMAL_PACE]


def _seconds(wavs: list[bytes]) -> float:
    total = 0.0
    for part in wavs:
        with wave.open(io.BytesIO(part), "rb") as wav:
            total += wav.getnframes() / wav.getframerate()
    return total


def test_espeak_speaks_the_same_sentence_longer_at_the_slow_pace() -> None:
    tts = Pyttsx3TextToSpeech()
    try:
        text = "空调本月用电一百二十度。电费约七十四元。"  # two sentences: the pace holds for each
        normal = _seconds(list(tts.synthesize_stream(text)))
        slow = _seconds(list(tts.synthesize_stream(text, SLOW_PACE)))
        again = _seconds(list(tts.synthesize_stream(text)))
    finally:
        tts.close()
    assert slow > normal * 1.2, (normal, slow)
    assert abs(again - normal) < 0.05 * normal, "the next normal answer is back at the configured rate"
