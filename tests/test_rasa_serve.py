"""``bot.rasa.serve`` (run in the engine environment): Rasa 3.6.21's check of action-server answers,
with its validator built once, accepts and rejects exactly what stock Rasa does, with the same
messages; the indexed event-type lookup resolves every name as Rasa's own loop does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.engine_kit import run_engine

SCRIPT = r"""
import json, sys
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.utils.common import all_subclasses
from bot.rasa.serve import index_event_types, reuse_action_result_validator

action = RemoteAction("action_energy_usage", None)
def outcomes(cases):
    out = []
    for case in cases:
        try:
            out.append(action._validate_action_result(case))
        except ValidationError as err:
            out.append(err.message)
    return out

cases = json.loads(sys.stdin.read())
stock = outcomes(cases)
applied = reuse_action_result_validator()
reused = outcomes(cases)

names = sorted({cls.type_name for cls in all_subclasses(Event)}) + ["topic", "no_such_event"]
def lookups():
    out = []
    for name in names:
        for default in (None, UserUttered):
            try:
                found = Event.resolve_by_type(name, default)
                out.append(found.__name__ if found else None)
            except ValueError as err:
                out.append(str(err))
    return out
stock_types = lookups()
indexed = index_event_types()
print(json.dumps({"applied": applied, "stock": stock, "reused": reused, "indexed": indexed,
                  "stock_types": stock_types, "indexed_types": lookups()}, ensure_ascii=False))
"""

SLOT = {"event": "slot", "timestamp": None, "name": "device_type", "value": "空调"}
BOT = {"event": "bot", "text": "本月空调用电 123.4 度", "data": {"custom": {"card": {"kind": "energy"}}}}
CASES = [
    {"events": [SLOT, SLOT, BOT], "responses": [{"response": "utter_energy_usage", "kwh": "123.4"}]},
    {"events": [], "responses": []},
    {},
    {"events": "not a list"},
    {"events": [{"name": "device_type"}]},
    {"events": [{"event": "slot", "name": 7}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [SLOT], "responses": "utter_x"},
    {"events": [SLOT], "responses": [["utter_x"]]},
    {"events": [{"event": "followup", "name": "action_listen"}, {"event": "action_execution_rejected"}]},
]


@pytest.fixture(scope="module")
def findings() -> dict[str, Any]:
    """SCRIPT's findings, from the engine environment (one run: importing Rasa takes seconds)."""
    return run_engine(SCRIPT, stdin=json.dumps(CASES, ensure_ascii=False))


def test_reused_validator_accepts_and_rejects_as_stock_rasa(findings: dict[str, Any]) -> None:
    out = findings
    assert out["applied"] is True
    assert out["reused"] == out["stock"]
    accepted = [o for o in out["stock"] if o is True]
    rejected = [o for o in out["stock"] if isinstance(o, str)]
    assert accepted and rejected, out["stock"]
    assert all("Failed to validate Action server response" in m for m in rejected)


def test_indexed_event_types_resolve_as_rasa_does(findings: dict[str, Any]) -> None:
    out = findings
    assert out["indexed"] is True
    assert out["indexed_types"] == out["stock_types"]
    assert "SlotSet" in out["stock_types"] and "Unknown event name 'no_such_event'." in out["stock_types"]
