"""Token buckets: a burst, then the steady rate; keys are independent; memory stays bounded. And the
other small limits of the edge: concurrency caps, the websocket outbox, per-source lanes."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot.gateway.caps import Caps, Refusal, Saturated
from bot.gateway.guard import Lanes
from bot.gateway.ratelimit import RateLimited, RateLimiter, retry_after_header
from bot.gateway.voice_limits import Outbox


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_steady_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(2.0, 3, clock=clock)
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(RateLimited) as refused:
        limiter.check("a")
    assert refused.value.status == 429 and refused.value.retry_after_s == pytest.approx(0.5)
    assert retry_after_header(refused.value) == "1"
    limiter.check("b")
    clock.now += 0.5
    limiter.check("a")
    with pytest.raises(RateLimited):
        limiter.check("a")
    clock.now += 60
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(RateLimited):
        limiter.check("a")


def test_refused_requests_do_not_drain_the_bucket_further() -> None:
    clock = Clock()
    limiter = RateLimiter(1.0, 1, clock=clock)
    limiter.check("a")
    for _ in range(50):
        with pytest.raises(RateLimited):
            limiter.check("a")
    clock.now += 1.0
    limiter.check("a")


def test_memory_is_bounded_by_forgetting_the_least_recent_keys() -> None:
    limiter = RateLimiter(1.0, 1, max_keys=10, clock=Clock())
    for i in range(100):
        limiter.check(f"k{i}")
    assert len(limiter._buckets) == 10
    limiter.check("k0")  # a forgotten key starts with a full bucket


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0, 1)
    with pytest.raises(ValueError):
        RateLimiter(1, 0)


def test_wait_s_looks_without_taking_and_charge_takes_without_refusing() -> None:
    clock = Clock()
    limiter = RateLimiter(0.5, 2, clock=clock)
    assert limiter.wait_s("src") == 0.0
    limiter.charge("src")
    limiter.charge("src")
    limiter.charge("src")  # an attempt that already happened: never refused, never below empty
    assert limiter.wait_s("src") == pytest.approx(2.0)
    assert limiter.wait_s("src") == pytest.approx(2.0), "looking took nothing"
    clock.now += 2.0
    assert limiter.wait_s("src") == 0.0


def test_caps_per_key_then_in_total_and_a_claim_is_released_once() -> None:
    caps = Caps(3, 2, full=Refusal("busy", "满了"), mine=Refusal("mine", "你的满了"))
    a1, a2 = caps.claim("a"), caps.claim("a")
    with pytest.raises(Saturated) as mine:
        caps.claim("a")
    assert (mine.value.status, mine.value.code, mine.value.retry_after_s > 0) == (429, "mine", True)
    with caps.claim("b"):
        with pytest.raises(Saturated) as full:
            caps.claim("c")
        assert (full.value.status, full.value.code) == (503, "busy")
    a1.release()
    a1.release()
    assert caps.held() == 1 and caps.held("a") == 1
    a2.release()
    assert caps.held() == 0


async def test_the_outbox_keeps_order_and_refuses_what_exceeds_its_bytes() -> None:
    box = Outbox(1024)
    assert box.put(b"x" * 1000) and box.put({"type": "ping"}) is False, "an event would exceed 1024"
    assert await box.get() == b"x" * 1000
    assert box.put(b"y" * 5000), "one item larger than the budget passes when nothing waits"
    assert box.put({"type": "e"}) is False
    box.end()
    assert await box.get() == b"y" * 5000 and await box.get() is None and box.waiting_bytes == 0


async def test_lanes_hold_at_most_their_width_per_key_and_forget_idle_keys() -> None:
    lanes, inside, most = Lanes(2), Counter[str](), Counter[str]()

    async def work(key: str) -> None:
        async with lanes.lane(key):
            inside[key] += 1
            most[key] = max(most[key], inside[key])
            await asyncio.sleep(0.01)
            inside[key] -= 1

    await asyncio.gather(*(work("a") for _ in range(6)), *(work("b") for _ in range(3)))
    assert most == {"a": 2, "b": 2} and lanes._lanes == {}
