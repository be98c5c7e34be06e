"""Concurrency caps: so many things at once per key (a device, a source) and so many in total.

A claim beyond either cap is refused at once, before any work: 429 when the key holds its share,
503 when the process is full, both with a ``Retry-After`` hint. Used for spoken-turn uploads and for
voice websockets (open, and not yet authenticated).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from types import TracebackType

from bot.errors import BotError

RETRY_AFTER_S = 2.0


class Saturated(BotError):
    """A cap is reached; ``retry_after_s`` says when to try again."""

    def __init__(self, message: str, code: str, status: int, retry_after_s: float = RETRY_AFTER_S):
        super().__init__(message, code=code, status=status)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Refusal:
    """What a refused claim says."""

    code: str
    message: str


class Claim:
    """One held place; released once (further calls do nothing); a context manager."""

    def __init__(self, caps: Caps, key: str):
        self._caps: Caps | None = caps
        self.key = key

    def release(self) -> None:
        """Give the place back."""
        caps, self._caps = self._caps, None
        if caps is not None:
            caps._release(self.key)

    def __enter__(self) -> Claim:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class Caps:
    """At most ``per_key`` claims per key and ``total`` claims in all (one event loop, no lock)."""

    def __init__(self, total: int, per_key: int, *, full: Refusal, mine: Refusal):
        self.total, self.per_key = total, per_key
        self._full, self._mine = full, mine
        self._held: Counter[str] = Counter()
        self._count = 0

    def claim(self, key: str) -> Claim:
        """A place for ``key``; Saturated (429 for the key's share, 503 when full) otherwise."""
        if self._held[key] >= self.per_key:
            raise Saturated(self._mine.message, self._mine.code, 429)
        if self.held() >= self.total:
            raise Saturated(self._full.message, self._full.code, 503)
        self._held[key] += 1
        self._count += 1
        return Claim(self, key)

    def held(self, key: str | None = None) -> int:
        """Places held by ``key`` (or by everyone)."""
        return self._held[key] if key is not None else self._count

    def _release(self, key: str) -> None:
        self._count -= 1
        self._held[key] -= 1
        if self._held[key] <= 0:
            del self._held[key]
