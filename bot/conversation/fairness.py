"""Turns share the dialogue fairly between households: a few at a time, waiting ones taken in turn.

Rasa and the action server each answer one turn's work at a time per process, so every turn sent to
them while others run makes all of them slower. The gate lets ``slots`` turns of this gateway
process into the dialogue at once; a slot covers the dialogue's own work only (finding the turn's
conversation and recording the turn, database work, happen outside it, so Rasa is not left idle
meanwhile). When more are waiting, a freed slot goes to the household that has waited its turn:
households are served round-robin, each household's turns in arrival order. A burst from one
household (several devices, or a client retrying) therefore takes one slot after another alongside
other households instead of ahead of them, and a household's own devices still overlap up to
``slots`` at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import AsyncIterator


class HouseholdGate:
    """At most ``slots`` turns in the dialogue at once (0: no limit); waiting turns admitted
    round-robin by household."""

    def __init__(self, slots: int) -> None:
        self._slots = slots
        self._busy = 0
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
        """Hold a slot for the block, waiting for the household's turn when all are taken."""
        if self._slots <= 0:
            yield
            return
        await self._admit(household_id)
        try:
            yield
        finally:
            self._hand_on()

    async def _admit(self, household_id: int) -> None:
        if self._busy < self._slots and not self._waiting:
            self._busy += 1
            return
        ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(household_id, deque()).append(ticket)
        try:
            await ticket
        except asyncio.CancelledError:
            if ticket.done() and not ticket.cancelled():
                self._hand_on()  # the slot arrived as the waiter gave up: pass it on
            else:
                self._withdraw(household_id, ticket)
            raise

    def _withdraw(self, household_id: int, ticket: asyncio.Future[None]) -> None:
        queue = self._waiting.get(household_id)
        if queue is not None and ticket in queue:
            queue.remove(ticket)
            if not queue:
                del self._waiting[household_id]

    def _hand_on(self) -> None:
        """Give a freed slot to the next household in turn (its oldest turn), or free it."""
        while self._waiting:
            household_id, queue = next(iter(self._waiting.items()))
            ticket = queue.popleft()
            del self._waiting[household_id]
            if queue:
                self._waiting[household_id] = queue  # back of the line for its next turn
            if not ticket.done():
                ticket.set_result(None)
                return
        self._busy -= 1
