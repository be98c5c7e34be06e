"""A tracker's applied events worked out once per turn, for Rasa 3.6.21 (applied at start-up by
``bot.rasa.serve``; issue 23).

Measured on the running stack (py-spy, ``bench/RESULTS.md``): ``DialogueStateTracker.applied_events``
(the events that count: without those undone by a restart, a new session, a rewind or a form's
repeated execution) walks the whole conversation every time it is called, some six times a turn
(reading the tracker, each policy's states, the action call), about 5 % of Rasa's CPU per turn.

Here a tracker remembers its last answer (in an attribute of its own: it goes when the tracker
goes) while its events only grow (the same event objects, in the same order) and the forms named
in them stay the same: the next call works through the new
events only, with Rasa's own steps, and hands out a new list as stock does. Anything else (an event
removed or replaced, a form named for the first time in the new events) is worked out from the start
by stock Rasa's method. Results are the same event objects in the same order as stock's
(``tests/test_rasa_states.py``).
"""

from __future__ import annotations

from typing import Any

from bot.rasa.states import continues

MEASURED_ON = "3.6.21"
MEMO = "_bot_applied_events"
"""The tracker attribute that holds its memo (it lives and dies with the tracker)."""


class Applied:
    """A tracker's events so far, the forms they name, and what stock ``applied_events`` gave."""

    def __init__(self, events: list[Any], loops: frozenset[str], applied: list[Any]) -> None:
        self.events = events
        self.loops = loops
        self.applied = applied


def remember_applied_events() -> bool:
    """Adapt ``DialogueStateTracker.applied_events`` as described above; False on another Rasa version."""
    import rasa
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    if rasa.__version__ != MEASURED_ON:
        return False
    stock = DialogueStateTracker.applied_events

    def loops_in(events: list[Any]) -> frozenset[str]:
        return frozenset(e.name for e in events if isinstance(e, ActiveLoop) and e.name)

    def apply(tracker: Any, new: list[Any], loops: frozenset[str], applied: list[Any]) -> list[Any]:
        """Stock Rasa 3.6.21's loop of ``applied_events`` over ``new`` events."""
        for event in new:
            if isinstance(event, (Restarted, SessionStarted)):
                applied = []
            elif isinstance(event, ActionReverted):
                tracker._undo_till_previous(ActionExecuted, applied)
            elif isinstance(event, UserUtteranceReverted):
                tracker._undo_till_previous(UserUttered, applied)
                tracker._undo_till_previous(ActionExecuted, applied)
            elif (
                isinstance(event, ActionExecuted)
                and event.action_name in loops
                and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
            ):
                tracker._undo_till_previous_loop_execution(event.action_name, applied)
            else:
                applied.append(event)
        return applied

    def applied_events(self: DialogueStateTracker) -> list[Any]:
        events = list(self.events)
        memo: Applied | None = self.__dict__.get(MEMO)
        new = events[len(memo.events) :] if memo is not None and continues(events, memo.events) else None
        if memo is not None and new is not None and not loops_in(new) - memo.loops:
            memo.applied = apply(self, new, memo.loops, memo.applied)
            memo.events = events
        else:
            memo = self.__dict__[MEMO] = Applied(events, loops_in(events), stock(self))
        return list(memo.applied)

    DialogueStateTracker.applied_events = applied_events
    return True
