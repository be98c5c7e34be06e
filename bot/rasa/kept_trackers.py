"""Recent conversations kept as event objects in Rasa's in-memory tracker store, for Rasa 3.6.21
(applied at start-up by ``bot.rasa.serve``; issue 23).

Measured on the running stack (``bench/RESULTS.md``): Rasa's ``InMemoryTrackerStore`` (the embedded
profile's) holds each conversation as JSON text. Every save turns all its events into dictionaries
and dumps them; every read loads the text, builds every event object again and replays them. Both
grow with the conversation, and the tracker a turn reads is always a new object, so the dialogue
states (``bot.rasa.states``) are replayed from the start once per turn as well.

Here the store keeps, for the ``KEPT_CONVERSATIONS`` conversations used most recently, the list of
event objects it was last given (a copy of the list: the same events). A read builds the tracker
from them exactly as stock builds it from the decoded events: ``init_tracker``, then
``recreate_from_dialogue``, then the latest session only (unless the whole conversation is asked
for). A conversation pushed out of the recent ones is dumped to text, as stock stores it, and read
as stock reads it. A conversation whose history is replaced (the gateway erases a household's
conversations by saving them empty) also drops the dialogue-state replay kept for it
(``bot.rasa.states.forget``), so no old event outlives the erasure in Rasa's memory. Nothing else
changes: the event broker still hears every new event, ``keys()``
still lists every conversation.

This holds because Rasa treats a stored event as a value: a turn appends new events and never
changes old ones, and an event decoded from its JSON behaves as the event it was dumped from.
``tests/test_rasa_kept_trackers.py`` checks both on real conversations of the trained model: every
read equals stock's read of the same conversation, and no stored event has changed by the next read.
The tracker store of the production profile (SQL) is untouched.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from bot.rasa.states import continues, forget

MEASURED_ON = "3.6.21"
KEPT_CONVERSATIONS = 128
"""Conversations held as event objects (most recently used); the others are held as JSON text."""


class Kept:
    """The event lists of recent conversations, least recently used first."""

    def __init__(self, size: int = KEPT_CONVERSATIONS) -> None:
        self.size = size
        self.events: OrderedDict[str, list[Any]] = OrderedDict()

    def put(self, sender_id: str, events: list[Any]) -> list[tuple[str, list[Any]]]:
        """Keep ``events`` for ``sender_id``; the conversations pushed out (to be stored as text)."""
        self.events.pop(sender_id, None)
        self.events[sender_id] = events
        pushed = []
        while len(self.events) > self.size:
            pushed.append(self.events.popitem(last=False))
        return pushed

    def get(self, sender_id: str) -> list[Any] | None:
        """The events kept for ``sender_id`` (marked as just used), or None."""
        events = self.events.get(sender_id)
        if events is not None:
            self.events.move_to_end(sender_id)
        return events


def keep_recent_conversations(size: int = KEPT_CONVERSATIONS) -> bool:
    """Adapt ``InMemoryTrackerStore`` as described above; False on another Rasa version."""
    import rasa
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.conversation import Dialogue
    from rasa.shared.core.events import ActionExecuted, split_events
    from rasa.shared.core.trackers import get_trackers_for_conversation_sessions

    if rasa.__version__ != MEASURED_ON:
        return False
    from rasa.shared.core.constants import ACTION_SESSION_START_NAME

    stock_retrieve = InMemoryTrackerStore._retrieve

    def kept_of(store: Any) -> Kept:
        kept: Kept | None = store.__dict__.get("_kept_conversations")
        if kept is None:
            kept = store.__dict__["_kept_conversations"] = Kept(size)
        return kept

    async def save(self: Any, tracker: Any) -> None:
        await self.stream_events(tracker)
        events = list(tracker.events)
        before = kept_of(self).get(tracker.sender_id)
        if before is None or not continues(events, before):
            forget(tracker.sender_id)  # replaced (erased), or not kept: no replay holds old events
        for sender_id, pushed in kept_of(self).put(tracker.sender_id, events):
            self.store[sender_id] = json.dumps(Dialogue(sender_id, pushed).as_dict())
        self.store[tracker.sender_id] = ""  # listed by keys(); read from the kept events

    async def _retrieve(self: Any, sender_id: str, fetch_all_sessions: bool) -> Any:
        events = kept_of(self).get(sender_id)
        if events is None:
            return await stock_retrieve(self, sender_id, fetch_all_sessions)
        tracker = self.init_tracker(sender_id)
        tracker.recreate_from_dialogue(Dialogue(sender_id, list(events)))
        if fetch_all_sessions:
            return tracker
        starts = {"action_name": ACTION_SESSION_START_NAME}
        if len(split_events(tracker.events, ActionExecuted, starts, include_splitting_event=True)) <= 1:
            return tracker
        return get_trackers_for_conversation_sessions(tracker)[-1]

    InMemoryTrackerStore.save = save
    InMemoryTrackerStore._retrieve = _retrieve
    return True
