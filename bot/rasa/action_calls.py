"""Smaller action calls for Rasa 3.6.21, applied at start-up by ``bot.rasa.serve`` (issue 23).

Measured on the running stack (``bench/RESULTS.md``): every custom action call carried the whole
tracker (~120 KB of JSON at the median of a 50-turn conversation) and the whole domain (~35 KB),
encoded by Rasa and decoded by the action server each time, and every answer's routine ``SlotSet``
events (most of them repeating a value the slot already held) grew the tracker that Rasa replays on
every message. Three changes, each equal to stock Rasa in what actions and policies see:

1. **The domain once.** Every call carries the domain's digest; the domain itself only until the
   action server has answered a call that carried it. rasa-sdk 3.21 keeps the last domain it
   received with its digest and answers 449 to a digest it does not hold (a restarted or another
   worker): the call is then sent again with the domain, as newer Rasa versions do. Rasa's own
   ``enable_selective_domain`` no longer matters: every action can read the domain it holds.
2. **Recent events only.** The tracker's slots, latest message, active loop and latest action are
   sent as before; its event list starts at the user message before the latest one
   (``USER_TURNS_SENT``): no action reads further back (``tests/test_action_reads.py``).
3. **No repeated slot values.** A ``SlotSet`` an action returns for a slot that already holds
   exactly that value (and has been set) is not added to the tracker: the tracker's slots, their
   "has been set" flags and hence every policy state stay as they were. Kept: slots set after
   another kind of event in the same answer, ``requested_slot``, and every event of a form's
   validation action (``validate_*``, which Rasa's form reads event by event).

Like the fixes in ``bot.rasa.serve``, they apply only to the Rasa version they were measured on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

_LOGGER = logging.getLogger(__name__)

MEASURED_ON = "3.6.21"
USER_TURNS_SENT = 2
"""An action call's events start at this user message counted from the latest (1: the latest)."""
DOMAIN_MISSING = 449
"""rasa-sdk's status for a call whose domain digest it does not hold and that carries no domain."""
VALIDATION_PREFIX = "validate_"
"""Form validation actions: their slot events are what Rasa's form checks; never filtered."""


def window_start(names: Sequence[str], user_turns: int = USER_TURNS_SENT) -> int:
    """Index of the ``user_turns``-th last ``user`` event among event ``names`` (0 when fewer)."""
    seen = 0
    for index in range(len(names) - 1, -1, -1):
        if names[index] == "user":
            seen += 1
            if seen == user_turns:
                return index
    return 0


def same_value(held: Any, value: Any) -> bool:
    """True when setting ``value`` leaves a slot holding ``held`` exactly as it is."""
    return type(held) is type(value) and bool(held == value)


class DomainDelivery:
    """The digest of each served domain, and which action endpoints hold it."""

    def __init__(self) -> None:
        self._digests: dict[int, tuple[Any, str]] = {}
        self._held: set[tuple[str, str]] = set()

    def digest(self, domain: Any) -> str:
        """The fingerprint of the domain as sent, computed once per domain object.

        Not ``Domain.fingerprint()``: in Rasa 3.6 it rewrites the cached ``as_dict()`` it hashes
        (its intents and actions), which would change the domain the actions receive.
        """
        from rasa.shared.utils.io import get_dictionary_fingerprint

        known = self._digests.get(id(domain))
        if known is None or known[0] is not domain:
            self._digests = {id(domain): (domain, str(get_dictionary_fingerprint(domain.as_dict())))}
            known = self._digests[id(domain)]
        return known[1]

    def held(self, url: str, digest: str) -> bool:
        """Whether the endpoint has answered a call that carried this digest's domain."""
        return (url, digest) in self._held

    def delivered(self, url: str, digest: str) -> None:
        """The endpoint answered a call with this digest: it holds the domain."""
        self._held.add((url, digest))

    def forget(self, url: str, digest: str) -> None:
        """The endpoint said it does not hold the domain."""
        self._held.discard((url, digest))


def unchanged_slots_dropped(events: list[Any], tracker: Any) -> list[Any]:
    """``events`` without the ``SlotSet`` events that would leave their slot as it is."""
    from rasa.shared.core.constants import REQUESTED_SLOT
    from rasa.shared.core.events import BotUttered, SlotSet

    held: dict[str, Any] = {}
    kept: list[Any] = []
    plain = True  # only bot messages and slots so far: the tracker's slots are known
    for event in events:
        if isinstance(event, SlotSet) and plain and event.key != REQUESTED_SLOT:
            slot = tracker.slots.get(event.key)
            known = slot is not None and (event.key in held or slot.has_been_set)
            if known and same_value(held.get(event.key, slot.value), event.value):
                continue
            held[event.key] = event.value
        elif not isinstance(event, (SlotSet, BotUttered)):
            plain = False
        kept.append(event)
    return kept


def smaller_action_calls() -> bool:
    """Adapt ``RemoteAction`` as described above; False (stock calls) on another Rasa version."""
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.trackers import EventVerbosity
    from rasa.shared.exceptions import RasaException
    from rasa.utils.endpoints import ClientResponseError

    if rasa.__version__ != MEASURED_ON:
        _LOGGER.warning("Rasa %s is not %s: action calls sent as stock", rasa.__version__, MEASURED_ON)
        return False
    stock_run = RemoteAction.run
    delivery = DomainDelivery()

    def action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> dict[str, Any]:
        state = tracker.current_state(EventVerbosity.NONE)
        events = list(tracker.events)
        start = window_start([event.type_name for event in events])
        state["events"] = [event.as_dict() for event in events[start:]]
        digest = delivery.digest(domain)
        call = {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": state,
            "version": rasa.__version__,
            "domain_digest": digest,
        }
        if self.action_endpoint is None or not delivery.held(self.action_endpoint.url, digest):
            call["domain"] = domain.as_dict()
        return call

    async def run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list[Any]:
        digest = delivery.digest(domain)
        url = self.action_endpoint.url if self.action_endpoint is not None else ""
        try:
            events = await stock_run(self, output_channel, nlg, tracker, domain)
        except RasaException as err:
            cause = err.__cause__
            if not (isinstance(cause, ClientResponseError) and cause.status == DOMAIN_MISSING):
                raise
            _LOGGER.debug("action server lacks domain %s: sending it again", digest)
            delivery.forget(url, digest)
            events = await stock_run(self, output_channel, nlg, tracker, domain)
        delivery.delivered(url, digest)
        if self.name().startswith(VALIDATION_PREFIX):
            return list(events)
        return unchanged_slots_dropped(list(events), tracker)

    RemoteAction._action_call_format = action_call_format
    RemoteAction.run = run
    return True
