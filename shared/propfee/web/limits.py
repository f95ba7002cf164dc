"""Rate limits for public pages: requests per link token and per source IP, counted per minute (a plain 429)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

WINDOW = timedelta(minutes=1)


class RateCounter(Protocol):
    def count_request(self, subject: str, window: str, limit: int, expires: datetime) -> bool:
        """Counts one request of the subject in the window; False once `limit` are counted there."""
        ...


def subject_digest(kind: str, value: str) -> str:
    """What is counted: a digest, so that no IP address or token is stored with the counters."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RateLimits:
    per_token: int = 30  # an owner reloading, paying, writing: far below this
    per_source: int = 120  # a household or an office behind one address


class RateLimiter:
    def __init__(self, counter: RateCounter, limits: RateLimits | None = None) -> None:
        self._counter = counter
        self._limits = limits or RateLimits()

    def allow(self, token: str, source_ip: str, now: datetime) -> bool:
        """Both the source and the token within their limits (the source first: a guesser's tokens vary)."""
        window = now.astimezone(UTC).replace(second=0, microsecond=0)
        label, expires = window.strftime("%Y%m%dT%H%M%z"), window + 2 * WINDOW
        if not self._counter.count_request(subject_digest("ip", source_ip), label, self._limits.per_source, expires):
            return False
        return self._counter.count_request(subject_digest("token", token), label, self._limits.per_token, expires)


class InMemoryRateCounter:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def count_request(self, subject: str, window: str, limit: int, expires: datetime) -> bool:
        key = (subject, window)
        if self.counts.get(key, 0) >= limit:
            return False
        self.counts[key] = self.counts.get(key, 0) + 1
        return True
