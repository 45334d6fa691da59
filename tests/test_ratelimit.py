"""The token bucket, on a fake clock."""

from __future__ import annotations

import pytest

from assistant.api.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("per_minute", "steps", "expected"), [
    # (seconds to wait before each request) → whether each request is allowed
    (3, [0, 0, 0, 0], [True, True, True, False]),
    (3, [0, 0, 0, 0, 20], [True, True, True, False, True]),  # 3/min: one token per 20 s
    (3, [0, 0, 0, 0, 19], [True, True, True, False, False]),
    (60, [0] * 61, [True] * 60 + [False]),
    (0, [0] * 100, [True] * 100),  # 0 turns limiting off
])
def test_bucket(per_minute: int, steps: list[float], expected: list[bool]) -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute, clock=clock)
    allowed = []
    for wait in steps:
        clock.now += wait
        allowed.append(limiter.take("client") == 0.0)
    assert allowed == expected


def test_retry_after_is_the_time_to_the_next_token() -> None:
    clock = Clock()
    limiter = RateLimiter(6, clock=clock)  # one token every 10 s
    for _ in range(6):
        assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(10.0)
    clock.now += 4
    assert limiter.take("a") == pytest.approx(6.0)


def test_clients_have_their_own_buckets() -> None:
    limiter = RateLimiter(1, clock=Clock())
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0
