"""A small in-process token bucket per client: `rate` requests a minute, in bursts up to `rate`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_CLIENTS = 10_000  # buckets kept; full ones are dropped first when there are more


class RateLimiter:
    """Per-client token buckets that refill continuously."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0  # tokens per second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last time)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Spend one token: 0.0 when allowed, else the seconds until a token is available."""
        if self.capacity <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.refill)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                if len(self._buckets) > MAX_CLIENTS:
                    self._prune(now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.refill

    def _prune(self, now: float) -> None:
        """Forget clients whose buckets have refilled; they would start full anyway."""
        for client, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * self.refill >= self.capacity:
                del self._buckets[client]
