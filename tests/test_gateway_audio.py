"""``POST /api/v1/converse/audio``: a WAV in any common format → transcript → the same text turn."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from bot.conversation.pipeline import Speech
from bot.speech.audio import pcm16_to_wav, wav_to_pcm16
from bot.speech.settings import SpeechSettings
from tests.fakes import FakeDialogue, FakeStt, FakeTts
from tests.gateway_kit import ZHANG, make_client
from tests.speech_fixtures import espeak_wav, korean_engine

WAV = {**ZHANG, "Content-Type": "audio/wav"}


def stereo_48k(mono_16k: bytes) -> bytes:
    """The same audio as a 48 kHz stereo WAV (each sample tripled, both channels)."""
    out = bytearray()
    for i in range(0, len(mono_16k), 2):
        out += mono_16k[i : i + 2] * 6
    wav = bytearray(pcm16_to_wav(bytes(out), 48000))
    wav[22:24] = (2).to_bytes(2, "little")  # channels
    wav[28:32] = (48000 * 4).to_bytes(4, "little")  # byte rate
    wav[32:34] = (4).to_bytes(2, "little")  # block align
    return bytes(wav)


async def test_a_spoken_turn_returns_transcript_replies_and_events(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    dialogue = FakeDialogue()
    speech = Speech(SpeechSettings(), stt=korean_engine(), tts=FakeTts())
    client = await make_client(aiohttp_client, demo_db, dialogue, speech=speech)
    pcm = bytes(16000) + wav_to_pcm16(espeak_wav("안녕하세요 감사합니다")) + bytes(32000)
    resp = await client.post("/api/v1/converse/audio", data=stereo_48k(pcm), headers=WAV)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["transcript"] and dialogue.calls == [(dialogue.calls[0][0], body["transcript"])]
    assert body["replies"][0]["text"] == f"echo:{body['transcript']}"
    assert [e["type"] for e in body["events"]] == ["stt-final", "dialogue", "card", "run-end"]


async def test_a_retried_audio_turn_is_answered_once(aiohttp_client: Any, demo_db: Engine) -> None:
    dialogue, stt = FakeDialogue(), FakeStt(["空调用了多少电", "第二次不该识别"])
    client = await make_client(aiohttp_client, demo_db, dialogue, speech=Speech(SpeechSettings(), stt=stt))
    wav = pcm16_to_wav(bytes(8000) + wav_to_pcm16(espeak_wav("你好你好", "cmn")) + bytes(32000))
    headers = {**WAV, "Idempotency-Key": "audio-1"}
    first = await (await client.post("/api/v1/converse/audio", data=wav, headers=headers)).json()
    again = await (await client.post("/api/v1/converse/audio", data=wav, headers=headers)).json()
    assert first == again and first["transcript"] == "空调用了多少电"
    assert len(dialogue.calls) == 1 and len(stt.grammars) == 1


async def test_silence_is_a_422_no_speech(aiohttp_client: Any, demo_db: Engine) -> None:
    dialogue = FakeDialogue()
    client = await make_client(
        aiohttp_client, demo_db, dialogue, speech=Speech(SpeechSettings(), stt=FakeStt([]))
    )
    resp = await client.post("/api/v1/converse/audio", data=pcm16_to_wav(bytes(32000)), headers=WAV)
    assert resp.status == 422
    assert (await resp.json())["error"] == {"code": "no_speech", "message": "没有听清，请再说一遍"}
    assert dialogue.calls == []
