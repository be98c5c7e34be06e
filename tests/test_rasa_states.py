"""``bot.rasa.states`` and ``bot.rasa.applied_events`` (run in the engine environment): states built
from a replay kept across calls equal stock Rasa 3.6.21's for every argument, as a conversation grows
event by event, when callers edit the states they got, and for a new tracker; the trained model's
policies predict exactly what they predict without them; and the applied events are stock's, on
every story and rule of ``data/`` and on each of them with rewinds, undone actions and restarts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine_kit import STORY_HISTORIES, run_engine, trained_model

SCRIPT = (
    r"""
import copy, json, sys
from rasa.core.agent import Agent
from rasa.shared.core.constants import USER
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, ActionReverted, Restarted, UserUttered,
                                     UserUtteranceReverted)
from rasa.shared.core.trackers import DialogueStateTracker
from bot.rasa.applied_events import remember_applied_events
from bot.rasa.states import replay_once_per_turn

model = sys.argv[1]
agent = Agent.load(model)
domain = agent.domain
"""
    + STORY_HISTORIES
    + r"""
RULE_ONLY = {"slots": ["awaiting", "topic"], "loops": ["installment_form"]}
COMBOS = [(omit, ignore, data)
          for omit in (False, True) for ignore in (False, True) for data in (None, RULE_ONLY)]

def text(states):
    return json.dumps(states, ensure_ascii=False, sort_keys=True, default=list)

def edit(states):
    '''What featurizers do to the states they get: drop the text of user sub-states.'''
    for state in states:
        state.get(USER, {}).pop("text", None)

def grown(events):
    '''States after each action or user message of one growing tracker, and the policies' choice.'''
    tracker = DialogueStateTracker.from_events("s", [], domain.slots)
    out = []
    for event in events:
        tracker.update(event, domain)
        if not isinstance(event, (ActionExecuted, UserUttered)):
            continue
        step = []
        for omit, ignore, data in COMBOS:
            states = domain.states_for_tracker_history(tracker, omit, ignore, data)
            step.append(text(states))
            edit(states)
        prediction = agent.processor._predict_next_with_tracker(tracker)
        step.append([prediction.policy_name, list(map(float, prediction.probabilities))])
        step.append([id(e) for e in tracker.applied_events()])
        out.append(step)
    fresh = DialogueStateTracker.from_events("s", events, domain.slots)  # a new object, same events
    out.append([text(domain.states_for_tracker_history(fresh, *combo)) for combo in COMBOS])
    return out

stock = [grown(events) for events in histories]
applied = replay_once_per_turn() and remember_applied_events()
adapted = [grown(events) for events in histories]
steps = sum(len(h) for h in stock)
same = sum(a == s for sa, aa in zip(stock, adapted) for s, a in zip(sa, aa))
first_diff = next(([i, j, s, a] for i, (sa, aa) in enumerate(zip(stock, adapted))
                   for j, (s, a) in enumerate(zip(sa, aa)) if s != a), None)
hidden = sum(isinstance(e, ActionExecuted) and e.hide_rule_turn for h in histories for e in h)
texts = sum(isinstance(e, UserUttered) and bool(e.text) for h in histories for e in h)
rewinds = sum(isinstance(e, (UserUtteranceReverted, ActionReverted, Restarted)) for h in histories for e in h)
print(json.dumps({"applied": applied, "histories": len(histories), "steps": steps, "same": same,
                  "hidden_turns": hidden, "user_texts": texts, "rewinds": rewinds,
                  "first_diff": first_diff}, ensure_ascii=False))
"""
)


@pytest.fixture(scope="module")
def findings() -> dict[str, Any]:
    """SCRIPT's findings, from the engine environment (loads the trained model once)."""
    return run_engine(SCRIPT, str(trained_model()), timeout=900)


def test_states_and_predictions_equal_stock_rasa(findings: dict[str, Any]) -> None:
    assert findings["applied"] is True
    assert findings["histories"] > 20 and findings["steps"] > 200
    assert findings["hidden_turns"] > 15 and findings["user_texts"] > 40 and findings["rewinds"] > 30
    assert findings["first_diff"] is None, findings["first_diff"]
    assert findings["same"] == findings["steps"]
