"""Token buckets: a burst, then the steady rate; keys are independent; memory stays bounded."""

from __future__ import annotations

import pytest

from bot.gateway.ratelimit import RateLimited, RateLimiter, retry_after_header


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
