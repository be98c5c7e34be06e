"""``bot.rasa.serve`` (run in the engine environment): Rasa 3.6.21's check of action-server answers,
with its validator built once and valid answers checked event by event, accepts and rejects exactly
what stock Rasa does, with the same messages, paths and failing keywords, over every kind of event
and a wide range of broken ones; the indexed event-type lookup resolves every name as Rasa's own
loop does."""

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
            out.append([err.message, list(err.absolute_path), err.validator])
    return out

cases = json.loads(sys.stdin.read())
stock = outcomes(cases)
applied = reuse_action_result_validator()
reused = outcomes(cases)
full_checks = []
import jsonschema.validators
stock_iter = jsonschema.validators.Draft202012Validator.iter_errors
from rasa.shared.utils.schemas.events import EVENTS_SCHEMA
def counted(self, *args, **kwargs):
    if isinstance(self.schema, dict) and self.schema.get("properties", {}).get("events") is EVENTS_SCHEMA:
        full_checks.append(1)  # the whole answer against the whole schema
    return stock_iter(self, *args, **kwargs)
jsonschema.validators.Draft202012Validator.iter_errors = counted
outcomes([case for case, verdict in zip(cases, stock) if verdict is True])
full_on_valid = len(full_checks)

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
                  "full_on_valid": full_on_valid,
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
USER = {
    "event": "user",
    "text": "空调这个月用了多少电",
    "input_channel": "rest",
    "message_id": "m1",
    "parse_data": {
        "text": "空调这个月用了多少电",
        "intent": {"name": "ask_energy_usage", "confidence": 0.98},
        "intent_ranking": [{"name": "ask_energy_usage", "confidence": 0.98}],
        "entities": [{"entity": "device_type", "value": "空调", "start": 0, "end": 2, "extractor": None}],
        "response_selector": {"all_retrieval_intents": []},
    },
}
EVENT_KINDS = [
    "user_featurization",
    "cancel_reminder",
    "reminder",
    "action_execution_rejected",
    "form_validation",
    "loop_interrupted",
    "form",
    "active_loop",
    "reset_slots",
    "resume",
    "pause",
    "followup",
    "export",
    "restart",
    "undo",
    "rewind",
    "bot",
    "session_started",
    "agent",
]
VALID_EVENTS = [
    SLOT,
    BOT,
    USER,
    {"event": "action", "name": "action_listen", "policy": None, "confidence": 1.0, "hide_rule_turn": False},
    {"event": "entities", "entities": [{"entity": "period", "value": "本月"}]},
    {"event": "slot", "name": "amount", "value": {"yuan": "3999.00", "terms": [3, 6, 12]}},
    {"event": "active_loop", "name": "installment_form", "timestamp": 1.5, "metadata": {"k": 1}},
    *({"event": kind} for kind in EVENT_KINDS),
]
ODD_VALUES: list[Any] = [None, 7, 2.5, True, "x", [], {}, ["a"], {"name": 1}]


def mutants(event: dict[str, Any]) -> list[dict[str, Any]]:
    """``event`` with each key dropped, and each key (and a nested parse key) given each odd value."""
    out = [{k: v for k, v in event.items() if k != key} for key in event]
    for key in [*event, "timestamp", "metadata", "unknown"]:
        out += [{**event, key: odd} for odd in ODD_VALUES]
    for key in event.get("parse_data", {}):
        out += [{**event, "parse_data": {**event["parse_data"], key: odd}} for odd in ODD_VALUES]
    return out


def generated_cases() -> list[Any]:
    """Answers with every kind of event, valid and not: the validator's whole range of verdicts."""
    cases: list[Any] = [None, [], "events", {"events": None}, {"responses": [{}], "extra": 1}]
    cases += [{"events": [event]} for event in VALID_EVENTS]
    cases.append({"events": VALID_EVENTS, "responses": [{"text": "好"}]})
    for event in VALID_EVENTS:
        cases += [{"events": [SLOT, mutant]} for mutant in mutants(event)]
    cases += [{"events": [odd]} for odd in ODD_VALUES]
    return cases


CASES += generated_cases()


@pytest.fixture(scope="module")
def findings() -> dict[str, Any]:
    """SCRIPT's findings, from the engine environment (one run: importing Rasa takes seconds)."""
    return run_engine(SCRIPT, stdin=json.dumps(CASES, ensure_ascii=False))


def test_reused_validator_accepts_and_rejects_as_stock_rasa(findings: dict[str, Any]) -> None:
    out = findings
    assert out["applied"] is True
    assert out["reused"] == out["stock"]
    accepted = [o for o in out["stock"] if o is True]
    rejected = [o for o in out["stock"] if isinstance(o, list)]
    assert len(accepted) > 100 and len(rejected) > 100, (len(accepted), len(rejected))
    assert all("Failed to validate Action server response" in m[0] for m in rejected)
    assert out["full_on_valid"] == 0, "valid answers are decided without the full validator"


def test_indexed_event_types_resolve_as_rasa_does(findings: dict[str, Any]) -> None:
    out = findings
    assert out["indexed"] is True
    assert out["indexed_types"] == out["stock_types"]
    assert "SlotSet" in out["stock_types"] and "Unknown event name 'no_such_event'." in out["stock_types"]
