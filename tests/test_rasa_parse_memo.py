"""``bot.rasa.serve``'s third fix, in the engine environment with the trained model: a message whose
text was parsed by ``/model/parse`` just before is logged with that parse instead of running the NLU
again, and what the tracker records is exactly what stock Rasa records; other texts, other metadata,
a second message and a model whose NLU reads the tracker are parsed as stock."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine_kit import run_engine, trained_model

SCRIPT = r"""
import asyncio, json, logging, sys
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.engine.graph import GraphSchema, SchemaNode
from bot.rasa.serve import REUSED, nlu_reads_only_the_message, reuse_parses

reused = []
class Count(logging.Handler):
    def emit(self, record):
        reused.append(record.getMessage() == REUSED)
logging.getLogger("bot.rasa.serve").addHandler(Count())
logging.getLogger("bot.rasa.serve").setLevel(logging.INFO)

TEXTS = ["分十二期每个月还多少", "我家空调这个月用了多少度电", "好的"]

async def logged(processor, sender, text, metadata=None):
    # the user event as the tracker store keeps it, without what differs between any two messages
    tracker = await processor.get_tracker(sender)
    message = UserMessage(text, sender_id=sender, metadata=metadata)
    await processor._handle_message_with_tracker(message, tracker)
    event = tracker.events[-1].as_dict()
    for key in ("timestamp", "message_id"):
        event.pop(key)
        event["parse_data"].pop(key, None)
    return event

def hits():
    n = sum(reused); reused.clear(); return n

async def main():
    agent = Agent.load(sys.argv[1])
    p = agent.processor
    meta = p.model_metadata
    out = {"pure": nlu_reads_only_the_message(meta.predict_schema, meta.nlu_target)}
    stock = {t: await logged(p, "stock-" + str(i), t) for i, t in enumerate(TEXTS)}
    out["applied"] = reuse_parses()
    same, spoken = [], []
    for i, text in enumerate(TEXTS):
        spoken.append(await agent.parse_message(text))           # the gateway's speculative parse
        same.append(await logged(p, "turn-" + str(i), text) == stock[text])
    out["same"], out["hits"] = same, hits()
    keys = ("intent", "entities")
    out["parse_equals_logged"] = [
        {k: s[k] for k in keys} == {k: stock[t]["parse_data"][k] for k in keys} for s, t in zip(spoken, TEXTS)
    ]
    await agent.parse_message(TEXTS[0])
    out["other_text"] = [await logged(p, "x1", TEXTS[1]) == stock[TEXTS[1]], hits()]
    again = [await logged(p, sender, TEXTS[0]) == stock[TEXTS[0]] for sender in ("x2", "x3")]
    out["taken_once"] = [*again, hits()]
    await agent.parse_message(TEXTS[2])
    out["other_metadata"] = [await logged(p, "x4", TEXTS[2], {"k": 1}) is not None, hits()]
    schema = GraphSchema({
        "nlu": SchemaNode({"messages": "__message__", "t": "reader"}, object, "", "", {}),
        "reader": SchemaNode({"tracker": "__tracker__"}, object, "", "", {}),
    })
    out["tracker_reader_pure"] = nlu_reads_only_the_message(schema, "nlu")
    print(json.dumps(out))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def findings() -> dict[str, Any]:
    """SCRIPT's findings with the trained model (one run: loading it takes a while)."""
    return run_engine(SCRIPT, str(trained_model()), timeout=600)


def test_a_turn_reuses_a_parse_of_its_text_and_records_what_stock_rasa_records(
    findings: dict[str, Any],
) -> None:
    assert findings["pure"] is True, "the skill's NLU reads only the message"
    assert findings["applied"] is True
    assert findings["same"] == [True, True, True]
    assert findings["hits"] == 3
    assert findings["parse_equals_logged"] == [True, True, True]


def test_other_texts_metadata_and_second_messages_are_parsed_as_stock(findings: dict[str, Any]) -> None:
    assert findings["other_text"] == [True, 0]
    assert findings["taken_once"] == [True, True, 1]
    assert findings["other_metadata"] == [True, 0]


def test_a_model_whose_nlu_reads_the_tracker_never_reuses(findings: dict[str, Any]) -> None:
    assert findings["tracker_reader_pure"] is False
