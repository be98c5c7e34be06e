"""``bot.rasa.action_calls`` (run in the engine environment against a recording action endpoint that
keeps the domain as rasa-sdk 3.21 does): every call gives the action the domain and the tracker
stock Rasa 3.6.21 gives it, except that the events start at the user message before the latest one;
the domain travels once per endpoint (again after a 449); a ``SlotSet`` that repeats a slot's value
leaves the tracker's slots and every policy state exactly as stock; errors surface as stock."""

from __future__ import annotations

from typing import Any

import pytest

from bot.rasa.action_calls import USER_TURNS_SENT, window_start
from tests.engine_kit import run_engine

SCRIPT = r"""
import asyncio, copy, json
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, BotUttered, FollowupAction, SessionStarted,
                                     SlotSet, UserUttered, Event)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig
from bot.rasa.action_calls import smaller_action_calls

domain = Domain.load("domain.yml")

def user(text, intent, entities=()):
    ents = [{"entity": e, "value": v, "start": 0, "end": 1} for e, v in entities]
    return UserUttered(text, {"name": intent, "confidence": 0.99}, ents,
                       {"intent": {"name": intent, "confidence": 0.99}, "entities": ents, "text": text})

def turn(text, intent, action, answer, slots=(), entities=()):
    return [user(text, intent, entities), *[SlotSet(k, v) for k, v in slots],
            ActionExecuted(action), BotUttered(answer, {"custom": {"type": "energy"}}),
            *[SlotSet(k, v) for k, v in slots], SlotSet("topic", "energy_usage"), SlotSet("awaiting", None),
            ActionExecuted("action_listen")]

EVENTS = [ActionExecuted("action_session_start"), SessionStarted(),
          SlotSet("assistant_name", "小居"), ActionExecuted("action_listen")]
EVENTS += turn("你好", "greet", "action_greet", "您好")
EVENTS += turn("空调这个月用了多少电", "ask_energy_usage", "action_energy_usage", "空调本月 120 度",
               [("device_type", "空调"), ("time_period", "this_month")], [("device_type", "空调")])
EVENTS += turn("冰箱呢", "inform", "action_inform", "冰箱本月 30 度",
               [("device_type", "冰箱")], [("device_type", "冰箱")])
EVENTS += [user("再说一遍", "repeat")]

def tracker(events=EVENTS):
    return DialogueStateTracker.from_events("household-1", copy.deepcopy(events), domain.slots)

class Endpoint:
    '''Keeps (domain, digest) as rasa-sdk 3.21's executor does; records what each action received.'''
    def __init__(self):
        self.domain, self.digest, self.received, self.status = None, None, [], 200
        self.answer = {"events": [], "responses": []}
    async def webhook(self, request):
        call = await request.json()
        if self.status != 200:
            return web.json_response({"error": "x", "action_name": call["next_action"]}, status=self.status)
        digest, sent = call.get("domain_digest"), call.get("domain")
        if not (self.digest and self.digest == digest) and sent is None:
            return web.json_response({"error": "missing domain"}, status=449)
        if sent:
            self.domain, self.digest = sent, digest
        self.received.append({"tracker": call["tracker"], "domain": self.domain,
                              "carried_domain": sent is not None, "next_action": call["next_action"]})
        return web.json_response(self.answer)

async def call(endpoint, name, t, answer):
    server.answer = answer
    action = RemoteAction(name, endpoint)
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    try:
        events = await action.run(CollectingOutputChannel(), nlg, t, domain)
    except ActionExecutionRejection as err:
        return {"rejected": err.action_name}
    except RasaException as err:
        return {"error": type(err).__name__}
    after = t.copy()
    after.update_with_events(events, domain)
    return {"events": [e.as_dict() for e in events],
            "slots": after.current_slot_values(),
            "set": {k: s.has_been_set for k, s in after.slots.items()},
            "states": after.past_states(domain),
            "rule_states": after.past_states(domain, ignore_rule_only_turns=True)}

ANSWER = {"events": [{"event": "slot", "name": "device_type", "value": "冰箱"},
                     {"event": "slot", "name": "topic", "value": "energy_usage"},
                     {"event": "slot", "name": "awaiting", "value": None},
                     {"event": "slot", "name": "offer_id", "value": None},
                     {"event": "slot", "name": "time_period", "value": "last_month"},
                     {"event": "slot", "name": "time_period", "value": "last_month"},
                     {"event": "slot", "name": "consent_scopes", "value": ["energy"]},
                     {"event": "followup", "name": "action_listen"},
                     {"event": "slot", "name": "topic", "value": "energy_usage"}],
          "responses": [{"text": "冰箱本月 30 度"}]}

async def series(endpoint):
    '''The same calls, in order: what the actions received and what came back.'''
    out = []
    server.received.clear()
    t = tracker()
    out.append(await call(endpoint, "action_repeat", t, ANSWER))
    out.append(await call(endpoint, "action_energy_usage", t, ANSWER))
    out.append(await call(endpoint, "validate_installment_form", t, ANSWER))
    short = tracker(EVENTS[:9])
    out.append(await call(endpoint, "action_greet", short, {"events": [], "responses": []}))
    server.domain = server.digest = None  # the action server restarted
    out.append(await call(endpoint, "action_fallback", t, {"events": [], "responses": []}))
    server.status = 400
    out.append(await call(endpoint, "action_energy_usage", t, ANSWER))
    server.status = 500
    out.append(await call(endpoint, "action_energy_usage", t, ANSWER))
    server.status = 200
    return out, [dict(r) for r in server.received]

async def main():
    global server
    server = Endpoint()
    app = web.Application()
    app.router.add_post("/webhook", server.webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    stock, stock_received = await series(endpoint)
    applied = smaller_action_calls()
    adapted, adapted_received = await series(endpoint)
    await runner.cleanup()
    full_events = [e.as_dict() for e in tracker().events]
    print(json.dumps({"applied": applied, "stock": stock, "adapted": adapted,
                      "stock_received": stock_received, "adapted_received": adapted_received,
                      "full_events": full_events}, ensure_ascii=False, default=str))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def findings() -> dict[str, Any]:
    """SCRIPT's findings, from the engine environment (one run: importing Rasa takes seconds)."""
    return run_engine(SCRIPT)


def without_events(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k != "events"}


def timeless(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "timestamp"} for e in events]


def test_applied(findings: dict[str, Any]) -> None:
    assert findings["applied"] is True


def test_every_action_gets_stock_state_domain_and_the_recent_events(findings: dict[str, Any]) -> None:
    stock, adapted = findings["stock_received"], findings["adapted_received"]
    assert [r["next_action"] for r in adapted] == [r["next_action"] for r in stock]
    assert len(stock) == 5  # the 400 and the 500 reach no action
    for before, after in zip(stock, adapted, strict=True):
        assert after["domain"] == before["domain"] and after["domain"]
        assert without_events(after["tracker"]) == without_events(before["tracker"])
        events = before["tracker"]["events"]
        start = window_start([e["event"] for e in events])
        assert after["tracker"]["events"] == events[start:]
    recent = adapted[0]["tracker"]["events"]
    assert [e["event"] for e in recent].count("user") == USER_TURNS_SENT
    assert recent[0]["event"] == "user" and recent[0]["text"] == "冰箱呢"
    assert len(recent) < len(findings["full_events"])
    short = adapted[3]["tracker"]["events"]  # fewer user messages than the window: every event
    assert short == stock[3]["tracker"]["events"]


def test_the_domain_travels_once_and_again_after_the_action_server_forgot_it(
    findings: dict[str, Any],
) -> None:
    carried = [r["carried_domain"] for r in findings["adapted_received"]]
    assert carried == [True, False, False, False, True]
    assert all(r["carried_domain"] for r in findings["stock_received"])


def test_repeated_slot_values_leave_slots_and_policy_states_as_stock(findings: dict[str, Any]) -> None:
    for name in ("slots", "set", "states", "rule_states"):
        assert [a[name] for a in findings["adapted"][:5]] == [s[name] for s in findings["stock"][:5]], name
    stock_events = timeless(findings["stock"][0]["events"])
    adapted_events = timeless(findings["adapted"][0]["events"])
    dropped = list(stock_events)
    for event in adapted_events:
        dropped.remove(event)
    assert sorted((e["name"], str(e["value"])) for e in dropped) == [
        ("awaiting", "None"),
        ("device_type", "冰箱"),  # held already
        ("time_period", "last_month"),  # set by the same answer just before
        ("topic", "energy_usage"),
    ]
    kept_names = [(e["event"], e.get("name")) for e in adapted_events]
    assert ("slot", "offer_id") in kept_names  # None, but never set: setting it is not a repeat
    assert kept_names.count(("slot", "time_period")) == 1  # the second repeats the first
    assert kept_names[-2:] == [("followup", "action_listen"), ("slot", "topic")]  # after a followup
    validation = [timeless(f[2]["events"]) for f in (findings["adapted"], findings["stock"])]
    assert validation[0] == validation[1]  # validate_*: untouched


def test_rejections_and_failures_surface_as_stock(findings: dict[str, Any]) -> None:
    assert findings["adapted"][5:] == findings["stock"][5:]
    assert findings["stock"][5] == {"rejected": "action_energy_usage"}
    assert findings["stock"][6] == {"error": "RasaException"}
