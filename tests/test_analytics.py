"""Analytics from Rasa's event broker: event → row mapping, idempotency, ack discipline, report.

The event bodies below have exactly the shape Rasa 3.6 publishes (``{"sender_id": ...} | event.as_dict()``,
serialised with ``json.dumps``), captured from ``rasa.shared.core.events`` in the engine environment.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.analytics.consumer import EventHandler
from bot.analytics.rows import BadEventError, EventRow, rows_for
from bot.analytics.store import record, report
from bot.cli.main import main
from bot.errors import StoreError
from bot.retry import Backoff
from bot.store.analytics import AnalyticsEvent
from bot.store.db import make_engine, migrate

USER_TEXT = "分十二期每个月还多少"


def user_event(
    sender: str = "conv-1", ts: float = 1764170000.123456, intent: str = "ask_installment"
) -> dict[str, Any]:
    """A ``UserUttered`` event as Rasa's tracker store streams it."""
    parse = {
        "intent": {"name": intent, "confidence": 0.9731},
        "entities": [{"entity": "periods", "value": 12}],
        "text": USER_TEXT,
        "message_id": None,
        "metadata": {},
    }
    return {
        "sender_id": sender,
        "event": "user",
        "timestamp": ts,
        "text": USER_TEXT,
        "parse_data": parse,
        "input_channel": None,
        "message_id": None,
        "metadata": {},
    }


def bot_event(
    sender: str = "conv-1",
    ts: float = 1764170000.7,
    card: dict[str, Any] | None = None,
    utter: str | None = None,
) -> dict[str, Any]:
    """A ``BotUttered`` event (``create_bot_utterance`` of an action-server message)."""
    data = {k: None for k in ("elements", "quick_replies", "buttons", "attachment", "image")}
    return {
        "sender_id": sender,
        "event": "bot",
        "timestamp": ts,
        "metadata": {"utter_action": utter} if utter else {},
        "text": "年化利率百分之十三点零三，每月一千零七十二元。",
        "data": {**data, "custom": card},
    }


QUOTE_CARD = {"type": "installment_quote", "title": "分期", "offer_id": "17", "apr": "0.1303"}


def body(event: dict[str, Any]) -> bytes:
    """The AMQP body Rasa's ``PikaEventBroker._message`` builds."""
    return json.dumps(event).encode("utf-8")


def test_a_user_message_is_a_turn_with_intent_and_confidence_but_no_text() -> None:
    (row,) = rows_for(body(user_event()))
    assert (row.kind, row.event, row.intent, row.confidence) == ("turn", "user", "ask_installment", 0.9731)
    assert row.conversation_id == "conv-1"
    assert row.occurred_at.timestamp() == pytest.approx(1764170000.123456)
    assert USER_TEXT not in repr(row)


def test_a_bot_message_with_an_offer_card_is_a_turn_and_an_offer() -> None:
    turn, offer = rows_for(body(bot_event(card=QUOTE_CARD, utter="utter_installment_quote")))
    assert (turn.kind, turn.action, turn.card_type, turn.offer_id) == (
        "turn",
        "utter_installment_quote",
        "installment_quote",
        None,
    )
    assert (offer.kind, offer.card_type, offer.offer_id) == ("offer", "installment_quote", "17")
    assert turn.event_key != offer.event_key


@pytest.mark.parametrize(
    "card", [None, {"type": "energy_usage", "title": "用电"}, {"type": "x", "offer_id": ""}]
)
def test_a_bot_message_without_an_offer_id_is_only_a_turn(card: dict[str, Any] | None) -> None:
    rows = rows_for(body(bot_event(card=card)))
    assert [r.kind for r in rows] == ["turn"]


def test_an_integer_offer_id_is_kept_as_text() -> None:
    rows = rows_for(body(bot_event(card={"type": "warranty_offer", "offer_id": 42})))
    assert rows[1].offer_id == "42"


@pytest.mark.parametrize(
    "event",
    [
        {"sender_id": "c", "event": "action", "timestamp": 1.0, "name": "action_listen"},
        {"sender_id": "c", "event": "slot", "timestamp": 1.0, "name": "periods", "value": 12},
        {"sender_id": "c", "event": "session_started", "timestamp": 1.0},
    ],
)
def test_other_event_types_record_nothing(event: dict[str, Any]) -> None:
    assert rows_for(body(event)) == []


def test_the_start_up_probe_conversations_of_bot_up_are_not_analytics() -> None:
    assert rows_for(body(user_event(sender="bot-store-probe-1a2b"))) == []


def test_the_key_survives_reserialisation_but_not_a_different_event() -> None:
    event = user_event()
    reordered = json.dumps(dict(reversed(list(event.items()))), ensure_ascii=False, indent=1).encode()
    assert rows_for(reordered)[0].event_key == rows_for(body(event))[0].event_key
    later = rows_for(body(user_event(ts=1764170001.0)))[0]
    other_conversation = rows_for(body(user_event(sender="conv-2")))[0]
    keys = {rows_for(body(event))[0].event_key, later.event_key, other_conversation.event_key}
    assert len(keys) == 3


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        body({"event": "user", "timestamp": 1.0}),
        body({"sender_id": "c", "event": "user", "timestamp": True}),
        body({"sender_id": "c", "event": "user"}),
        body({"sender_id": "c", "event": "bot", "timestamp": 1e300}),
    ],
)
def test_malformed_messages_are_bad_events(raw: bytes) -> None:
    with pytest.raises(BadEventError):
        rows_for(raw)


def test_recording_the_same_event_twice_stores_it_once(engine: Engine) -> None:
    rows = rows_for(body(bot_event(card=QUOTE_CARD)))
    assert record(engine, rows) == 2
    assert record(engine, rows) == 0
    assert record(engine, rows_for(body(bot_event(card=QUOTE_CARD)))) == 0
    with Session(engine) as session:
        assert len(session.exec(select(AnalyticsEvent)).all()) == 2


class FakeMessage:
    """An AMQP message that remembers what the consumer did with it."""

    def __init__(self, raw: bytes, log: list[str] | None = None) -> None:
        self.body = raw
        self.log = log if log is not None else []

    async def ack(self) -> None:
        self.log.append("ack")

    async def reject(self, requeue: bool = False) -> None:
        self.log.append(f"reject(requeue={requeue})")


class FlakyRecorder:
    """Fails like a database that is down ``failures`` times, then stores for real."""

    def __init__(self, engine: Engine, log: list[str], failures: int = 0) -> None:
        self.engine, self.log, self.failures = engine, log, failures

    def __call__(self, rows: Sequence[EventRow]) -> int:
        if self.failures:
            self.failures -= 1
            self.log.append("db down")
            raise StoreError("数据库暂时不可用")
        stored = record(self.engine, rows)
        self.log.append(f"committed {stored}")
        return stored


def _fast() -> Backoff:
    return Backoff(initial=0.001, cap=0.002)


async def test_a_message_is_acknowledged_only_after_its_rows_are_committed(schema_db: Engine) -> None:
    log: list[str] = []
    handler = EventHandler(FlakyRecorder(schema_db, log), backoff=_fast())
    await handler(FakeMessage(body(user_event()), log))
    await handler(FakeMessage(body(user_event()), log))
    assert log == ["committed 1", "ack", "committed 0", "ack"]
    assert (handler.stats.messages, handler.stats.rows) == (2, 1)


async def test_while_the_database_is_down_the_message_waits_then_is_stored(schema_db: Engine) -> None:
    log: list[str] = []
    handler = EventHandler(FlakyRecorder(schema_db, log, failures=3), backoff=_fast())
    await handler(FakeMessage(body(user_event()), log))
    assert log == ["db down", "db down", "db down", "committed 1", "ack"]
    assert handler.stats.store_retries == 3


async def test_stopping_during_a_database_outage_requeues_the_message(schema_db: Engine) -> None:
    log: list[str] = []
    handler = EventHandler(FlakyRecorder(schema_db, log, failures=10**6), backoff=Backoff(0.01, 0.01))
    task = asyncio.create_task(handler(FakeMessage(body(user_event()), log)))
    while "db down" not in log:
        await asyncio.sleep(0.005)
    handler.stop.set()
    await task
    assert log[-1] == "reject(requeue=True)"
    assert "ack" not in log


async def test_a_malformed_message_is_rejected_without_requeue_and_stores_nothing(schema_db: Engine) -> None:
    log: list[str] = []
    handler = EventHandler(FlakyRecorder(schema_db, log), backoff=_fast())
    await handler(FakeMessage(b"{oops", log))
    assert log == ["reject(requeue=False)"]
    assert handler.stats.bad == 1


async def test_event_types_not_recorded_are_acknowledged(schema_db: Engine) -> None:
    log: list[str] = []
    handler = EventHandler(FlakyRecorder(schema_db, log), backoff=_fast())
    await handler(
        FakeMessage(body({"sender_id": "c", "event": "action", "timestamp": 1.0, "name": "x"}), log)
    )
    assert log == ["committed 0", "ack"]


def _seed(engine: Engine) -> None:
    events = [
        user_event("a", 1764170000.0),
        user_event("a", 1764170010.0, intent="ask_energy_usage"),
        user_event("b", 1764170020.0),
        bot_event("a", 1764170001.0, QUOTE_CARD, "utter_installment_quote"),
        bot_event("b", 1764256400.0, {"type": "warranty_offer", "offer_id": "9"}, "utter_warranty_offer"),
        user_event("b", 1764256401.0),
    ]
    for event in events:
        record(engine, rows_for(body(event)))


def test_the_report_counts_intents_offers_and_days_without_personal_data(engine: Engine) -> None:
    _seed(engine)
    result = report(engine)
    assert result.intents[0] == {"intent": "ask_installment", "turns": 3, "mean_confidence": 0.9731}
    assert result.intents[1]["intent"] == "ask_energy_usage"
    assert {(o["card_type"], o["offers"]) for o in result.offers} == {
        ("installment_quote", 1),
        ("warranty_offer", 1),
    }
    assert [
        (d["day"], d["user_turns"], d["bot_turns"], d["offers"], d["conversations"]) for d in result.days
    ] == [
        ("2025-11-26", 3, 1, 1, 2),
        ("2025-11-27", 1, 1, 1, 1),
    ]
    dumped = json.dumps(result.__dict__, ensure_ascii=False)
    assert USER_TEXT not in dumped and '"a"' not in dumped


def test_cli_report_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    migrate(url)
    eng = make_engine(url)
    _seed(eng)
    eng.dispose()
    monkeypatch.setenv("BOT_DATABASE_URL", url)
    assert main(["analytics", "report", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["offers"][0]["offers"] == 1 and len(printed["days"]) == 2


def test_cli_consume_needs_a_broker_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_EVENT_BROKER_URL", "")
    assert main(["analytics", "consume", "--once"]) == 2
    assert "event_broker_url" in capsys.readouterr().err


def test_bot_up_supervises_each_consumer_only_when_its_broker_is_configured(tmp_path: Path) -> None:
    from bot.config import Config
    from bot.stack.up import consumers

    assert consumers(Config(), tmp_path) == []
    both = consumers(
        Config(event_broker_url="amqp://h/", mqtt_url="mqtt://h/p", database_url="sqlite://"), tmp_path
    )
    assert [(c.name, c.argv[-2:], c.env["BOT_DATABASE_URL"]) for c in both] == [
        ("analytics consumer", ["analytics", "consume"], "sqlite://"),
        ("MQTT telemetry ingest", ["telemetry", "mqtt"], "sqlite://"),
    ]
    assert both[0].env["BOT_EVENT_BROKER_URL"] == "amqp://h/" and both[1].env["BOT_MQTT_URL"] == "mqtt://h/p"
