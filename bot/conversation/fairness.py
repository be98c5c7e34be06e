"""Turns share the dialogue fairly between households: a few at a time, waiting ones taken in turn.

Rasa and the action server each answer one turn's work at a time per process, so every turn sent to
them while others run makes all of them slower. The gate lets ``slots`` turns of this gateway
process into the dialogue at once, at most ``per_household`` of one household; a slot covers the
dialogue's own work only (finding the turn's conversation and recording the turn, database work,
happen outside it, so Rasa is not left idle meanwhile). When more are waiting, a freed slot goes to
the next household in turn that may take one: households are served round-robin, each household's
turns in arrival order. A burst from one household (several devices, or a client retrying)
therefore takes one slot after another alongside other households instead of ahead of them, and
never more than ``per_household`` at once: another household's turn finds a slot free while the
burst lasts, and a household's own devices overlap up to ``per_household`` at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator


class HouseholdGate:
    """At most ``slots`` turns in the dialogue at once (0: no limit), at most ``per_household`` of one
    household (0: only ``slots``); waiting turns admitted round-robin by household."""

    def __init__(self, slots: int, per_household: int = 0) -> None:
        self._slots = slots
        self._per_household = per_household
        self._busy = 0
        self._held: Counter[int] = Counter()
        self._waiting: OrderedDict[int, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def busy(self) -> int:
        """Turns in the dialogue now."""
        return self._busy

    @property
    def waiting(self) -> int:
        """Turns waiting for a slot."""
        return sum(len(queue) for queue in self._waiting.values())

    @contextlib.asynccontextmanager
    async def turn(self, household_id: int) -> AsyncIterator[None]:
        """Hold a slot for the block, waiting for the household's turn when it may not take one."""
        if self._slots <= 0:
            yield
            return
        await self._admit(household_id)
        try:
            yield
        finally:
            self._release(household_id)

    def _may_enter(self, household_id: int) -> bool:
        if self._busy >= self._slots:
            return False
        return self._per_household <= 0 or self._held[household_id] < self._per_household

    def _enter(self, household_id: int) -> None:
        self._busy += 1
        self._held[household_id] += 1

    async def _admit(self, household_id: int) -> None:
        # Whoever waits while a slot is free waits for a turn of its own household to end, so a
        # household that is not waiting may take the free slot without going ahead of anyone.
        if household_id not in self._waiting and self._may_enter(household_id):
            self._enter(household_id)
            return
        ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(household_id, deque()).append(ticket)
        try:
            await ticket
        except asyncio.CancelledError:
            if ticket.done() and not ticket.cancelled():
                self._release(household_id)  # the slot arrived as the waiter gave up: pass it on
            else:
                self._withdraw(household_id, ticket)
            raise

    def _withdraw(self, household_id: int, ticket: asyncio.Future[None]) -> None:
        queue = self._waiting.get(household_id)
        if queue is not None and ticket in queue:
            queue.remove(ticket)
            if not queue:
                del self._waiting[household_id]

    def _release(self, household_id: int) -> None:
        self._busy -= 1
        self._held[household_id] -= 1
        if not self._held[household_id]:
            del self._held[household_id]
        self._hand_on()

    def _hand_on(self) -> None:
        """Give the freed slot to the next household in turn that may take it (its oldest turn)."""
        for household_id in list(self._waiting):
            if not self._may_enter(household_id):
                continue
            queue = self._waiting.pop(household_id)
            while queue:
                ticket = queue.popleft()
                if not ticket.done():
                    ticket.set_result(None)
                    self._enter(household_id)
                    if queue:
                        self._waiting[household_id] = queue  # back of the line for its next turn
                    return
