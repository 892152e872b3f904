"""How the simulated payment provider misbehaves: latency, outages, hanging, declines.

The outcome of a request is drawn from an injected random source, so tests pass a
seeded or scripted one and get the same outcome every time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from payment_svc.domain import DeclineRules

MAX_LATENCY_MS = 60_000
_LATENCY = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


class RandomSource(Protocol):
    """What the simulation draws from; :class:`random.Random` is one."""

    def random(self) -> float: ...

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True, slots=True)
class Latency:
    """A fixed delay (``min_ms == max_ms``) or one drawn uniformly from a range."""

    min_ms: int
    max_ms: int

    def __post_init__(self) -> None:
        if not 0 <= self.min_ms <= self.max_ms <= MAX_LATENCY_MS:
            raise ValueError(
                f"latency must satisfy 0 <= min <= max <= {MAX_LATENCY_MS} ms, "
                f"got {self.min_ms}..{self.max_ms}"
            )

    @classmethod
    def parse(cls, text: str) -> Latency:
        """``"40"`` (fixed) or ``"20-80"`` (a range), in milliseconds."""
        match = _LATENCY.fullmatch(text)
        if match is None:
            raise ValueError(f'latency must look like "40" or "20-80" (ms), got {text!r}')
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        return cls(low, high)

    def __str__(self) -> str:
        return str(self.min_ms) if self.min_ms == self.max_ms else f"{self.min_ms}-{self.max_ms}"

    def draw_seconds(self, rng: RandomSource) -> float:
        if self.min_ms == self.max_ms:
            return self.min_ms / 1000
        return rng.uniform(self.min_ms, self.max_ms) / 1000


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """Everything an operator may change at run time (``PUT /admin/simulation``)."""

    latency: Latency = field(default_factory=lambda: Latency(20, 80))
    error_rate: float = 0.03
    hang: bool = False
    rules: DeclineRules = field(default_factory=DeclineRules)

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error rate must be between 0 and 1, got {self.error_rate}")


@dataclass(frozen=True, slots=True)
class Hang:
    """Accept the request and never answer it."""


@dataclass(frozen=True, slots=True)
class Outage:
    """Wait, then answer 503 without charging anything."""

    delay_s: float


@dataclass(frozen=True, slots=True)
class Proceed:
    """Wait, then decide and record the payment."""

    delay_s: float


Outcome = Hang | Outage | Proceed


def simulate(config: SimulationConfig, rng: RandomSource) -> Outcome:
    """What happens to the next request under ``config``.

    Hang mode wins over everything; otherwise a request fails with probability
    ``error_rate`` (1.0 always fails, 0.0 never does), and either way waits a latency.
    """
    if config.hang:
        return Hang()
    failed = rng.random() < config.error_rate
    delay = config.latency.draw_seconds(rng)
    return Outage(delay) if failed else Proceed(delay)
