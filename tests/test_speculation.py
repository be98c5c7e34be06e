"""Speculative NLU: a parse of the stable hypothesis runs ahead of the turn, the turn waits only for a
parse of its own text, anything else is thrown away, and nothing but the NLU ever runs ahead (no
turn, no reply, no audio). Through the voice websocket with a scripted recogniser, a turn's outcome
is the same with and without speculation."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import Engine

from bot.conversation.dialogue import Reply
from bot.conversation.pipeline import Speech
from bot.conversation.speculation import Speculation
from bot.speech.audio import SAMPLE_RATE
from bot.speech.settings import SpeechSettings
from tests.fakes import FakeDialogue, FakeStt, FakeTts
from tests.gateway_kit import ZHANG, make_client
from tests.test_voice_ws import speech_audio, stream_run


class OrderedDialogue(FakeDialogue):
    """A FakeDialogue whose parses take ``parse_s`` and which logs parses and turns in order."""

    def __init__(self, parse_s: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.parse_s = parse_s
        self.order: list[str] = []

    async def parse(self, text: str) -> dict[str, Any]:
        await asyncio.sleep(self.parse_s)
        result = await super().parse(text)
        self.order.append(f"parse:{text}")
        return result

    async def respond(self, sender: str, text: str) -> list[Reply]:
        self.order.append(f"turn:{text}")
        return await super().respond(sender, text)


async def test_a_turn_waits_for_the_parse_of_its_own_text() -> None:
    dialogue = OrderedDialogue(parse_s=0.2)
    speculation = Speculation(dialogue)
    speculation.offer("空调 用了 多少 电")
    speculation.offer("空调用了多少电")  # the same turn text: not parsed twice
    assert await speculation.settle("空调用了多少电") is True
    assert dialogue.order == ["parse:空调用了多少电"] and dialogue.calls == []
    assert (speculation.offered, speculation.reused) == (1, 1)


async def test_a_parse_of_another_text_is_thrown_away_without_waiting() -> None:
    dialogue = OrderedDialogue(parse_s=5.0)
    speculation = Speculation(dialogue)
    speculation.offer("空调用了多少")
    started = asyncio.get_running_loop().time()
    assert await speculation.settle("空调用了多少电") is False
    assert asyncio.get_running_loop().time() - started < 1.0
    assert speculation.reused == 0 and dialogue.calls == []


async def test_a_failed_or_slow_parse_costs_the_turn_nothing() -> None:
    down = Speculation(OrderedDialogue(down=True))
    down.offer("你好")
    assert await down.settle("你好") is False
    slow = Speculation(OrderedDialogue(parse_s=5.0), settle_s=0.1)
    slow.offer("你好")
    assert await slow.settle("你好") is False
    assert await Speculation(OrderedDialogue()).settle("你好") is False, "nothing was offered"


async def test_what_a_turn_would_refuse_is_never_parsed() -> None:
    dialogue = OrderedDialogue()
    speculation = Speculation(dialogue)
    for text in ("", "   ", "/greet", "好" * 2000):
        speculation.offer(text)
    await asyncio.sleep(0)
    assert dialogue.parsed == [] and speculation.offered == 0


async def _spoken_turn(aiohttp_client: Any, demo_db: Engine, speculate: bool) -> tuple[list[Any], Any]:
    dialogue = OrderedDialogue(parse_s=0.05)
    settings = SpeechSettings(speculative_nlu=speculate)
    speech = Speech(settings, stt=FakeStt(["空调用了多少电"]), tts=FakeTts())
    client = await make_client(aiohttp_client, demo_db, dialogue, speech=speech)
    async with client.ws_connect("/api/v1/voice", headers=ZHANG) as ws:
        run = await stream_run(ws, speech_audio("你好你好", "cmn", SAMPLE_RATE), SAMPLE_RATE)
    return run, dialogue


def _outcome(run: list[Any]) -> list[Any]:
    """What the turn said and showed (times aside)."""
    wanted = ("stt-final", "dialogue", "card", "tts-start", "tts-end", "run-end")
    return [(e["type"], e["data"]) for e in run if isinstance(e, dict) and e["type"] in wanted] + [
        len(item) for item in run if isinstance(item, bytes)
    ]


async def test_the_stable_hypothesis_is_parsed_before_the_turn_and_the_outcome_is_unchanged(
    aiohttp_client: Any, demo_db: Engine
) -> None:
    with_it, dialogue = await _spoken_turn(aiohttp_client, demo_db, speculate=True)
    without, plain = await _spoken_turn(aiohttp_client, demo_db, speculate=False)
    stable = [e for e in with_it if isinstance(e, dict) and e["data"].get("stable")]
    assert stable and stable[-1]["data"]["text"] == "空调用了多少电"
    assert dialogue.order == ["parse:空调用了多少电", "turn:空调用了多少电"]
    assert plain.order == ["turn:空调用了多少电"]
    assert _outcome(with_it) == _outcome(without)
