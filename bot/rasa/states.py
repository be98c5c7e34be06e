"""Dialogue states replayed once per turn, for Rasa 3.6.21 (applied at start-up by ``bot.rasa.serve``).

Measured on the running stack (issue 23, ``bench/RESULTS.md``): every policy prediction replays the
conversation's whole event history to build the states it matches on
(``Domain.states_for_tracker_history``) — RulePolicy and MemoizationPolicy each, for the action
after the user's message and again for the one after that: four full replays of a tracker that
grows by some ten events a turn, about a quarter of Rasa's time for a turn.

Here the replay of a conversation is kept while its events only grow (the same event objects, in
the same order): the next call replays only the new events. What each prior tracker contributes —
the state, the previous action, whether the turn is hidden or keeps the hidden flag — is recorded
once and every call rebuilds its states from the records with Rasa's own loop, handing out fresh
copies (callers edit the states they get). A new tracker object continues the replay when it is
built like the replayed one (conversation, slot definitions, event history limit, rule tracker or
not) and starts with the same event objects: the next turn's tracker, read from the store that
keeps recent conversations as event objects (``bot.rasa.kept_trackers``). Any other history (an
event removed or replaced, a rewind, another conversation) is replayed from the start, as before.
Results are equal to stock Rasa's for every argument (``tests/test_rasa_states.py``).
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MEASURED_ON = "3.6.21"
KEPT_TRACKERS = 32
"""Replays kept at once (one per conversation; a turn needs one)."""


@dataclass(frozen=True)
class Record:
    """What one prior tracker (the conversation before an action) contributes to the states."""

    hidden: bool
    """The action that follows is a rule-only turn (``hide_rule_turn``)."""
    keeps_flag: bool
    """No follow-up action and not the active loop's own action: the hidden flag is updated."""
    prev_action: Any
    state: dict[str, Any]


def _record(domain: Any, tracker: Any, hidden: bool, omit_unset_slots: bool) -> Record:
    keeps = not tracker.followup_action and tracker.latest_action_name != tracker.active_loop_name
    state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
    return Record(hidden, keeps, domain._get_prev_action_sub_state(tracker), state)


def continues(events: Sequence[Any], before: Sequence[Any]) -> bool:
    """Whether ``events`` start with the very event objects of ``before`` (same objects, same order)."""
    return len(events) >= len(before) and all(map(operator.is_, events, before))


def built_like(tracker: Any) -> tuple[Any, ...]:
    """What a tracker's replay depends on besides its events: how it was constructed."""
    slots = [(name, type(slot), slot.persistence_info()) for name, slot in tracker.slots.items()]
    return tracker.sender_id, tracker._max_event_history, tracker.is_rule_tracker, slots


class Replay:
    """The replay of one conversation's applied events so far, and the record before each action."""

    def __init__(self, domain: Any, tracker: Any, omit_unset_slots: bool) -> None:
        self.domain = weakref.ref(domain)
        self.owner = weakref.ref(tracker)
        self.built_like = built_like(tracker)
        self.omit_unset_slots = omit_unset_slots
        self.events: list[Any] = []
        self.tracker = tracker.init_copy()
        self.records: list[Record] = []

    def extends(self, domain: Any, tracker: Any, events: list[Any], omit_unset_slots: bool) -> bool:
        """Whether ``events`` of ``tracker`` continue what was replayed with ``domain`` (then
        ``tracker`` owns the replay)."""
        if self.domain() is not domain or omit_unset_slots != self.omit_unset_slots:
            return False
        if self.owner() is not tracker and built_like(tracker) != self.built_like:
            return False
        if not continues(events, self.events):
            return False
        self.owner = weakref.ref(tracker)
        return True

    def advance(self, domain: Any, events: list[Any]) -> list[Record]:
        """Replay the events not seen yet; the records of every action, then the current one."""
        from rasa.shared.core.events import ActionExecuted

        for event in events[len(self.events) :]:
            if isinstance(event, ActionExecuted):
                hidden = event.hide_rule_turn
                self.records.append(_record(domain, self.tracker, hidden, self.omit_unset_slots))
            self.tracker.update(event)
        self.events = list(events)
        return [*self.records, _record(domain, self.tracker, False, self.omit_unset_slots)]


def _fresh(record: Record) -> tuple[Any, dict[str, Any]]:
    """Copies of a record's previous action and state, shared as Rasa shares them."""
    from rasa.shared.core.constants import PREVIOUS_ACTION

    prev_action = dict(record.prev_action) if isinstance(record.prev_action, dict) else record.prev_action
    state = {key: dict(sub) if isinstance(sub, dict) else sub for key, sub in record.state.items()}
    if PREVIOUS_ACTION in state:
        state[PREVIOUS_ACTION] = prev_action
    return prev_action, state


def states_from(
    domain: Any, records: list[Record], ignore_rule_only_turns: bool, rule_only_data: Any
) -> list[Any]:
    """Rasa 3.6.21's ``Domain.states_for_tracker_history`` loop over recorded prior trackers."""
    from rasa.shared.core.constants import PREVIOUS_ACTION

    states: list[Any] = []
    last_ml_action_sub_state = None
    turn_was_hidden = False
    for record in records:
        prev_action, state = _fresh(record)
        if ignore_rule_only_turns:
            if not turn_was_hidden:
                last_ml_action_sub_state = prev_action
            if record.keeps_flag:
                turn_was_hidden = record.hidden
            if turn_was_hidden:
                continue
        if ignore_rule_only_turns:
            domain._remove_rule_only_features(state, rule_only_data)
            if states:
                domain._substitute_rule_only_user_input(state, states[-1])
            if last_ml_action_sub_state:
                state[PREVIOUS_ACTION] = last_ml_action_sub_state
        states.append(domain._clean_state(state))
    return states


_REPLAYS: dict[str, Replay] = {}
"""The kept replays by conversation (filled only once ``replay_once_per_turn`` is applied)."""


def forget(sender_id: str) -> None:
    """Drop the replay kept for a conversation (its history was replaced, e.g. erased)."""
    _REPLAYS.pop(sender_id, None)


def replay_once_per_turn() -> bool:
    """Adapt ``Domain.states_for_tracker_history`` as described above; False on another Rasa version."""
    import rasa
    from rasa.shared.core.domain import Domain

    if rasa.__version__ != MEASURED_ON:
        return False
    replays = _REPLAYS

    def states_for_tracker_history(
        self: Domain,
        tracker: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: Any = None,
    ) -> list[Any]:
        events = tracker.applied_events()
        replay = replays.pop(tracker.sender_id, None)
        if replay is None or not replay.extends(self, tracker, events, omit_unset_slots):
            replay = Replay(self, tracker, omit_unset_slots)
        records = replay.advance(self, events)
        replays[tracker.sender_id] = replay
        while len(replays) > KEPT_TRACKERS:
            del replays[next(iter(replays))]
        return states_from(self, records, ignore_rule_only_turns, rule_only_data)

    Domain.states_for_tracker_history = states_for_tracker_history
    return True
