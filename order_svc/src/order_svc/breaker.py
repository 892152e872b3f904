"""A circuit breaker that counts only payment's own failures.

Closed, it counts consecutive failed calls; at ``threshold`` it opens and every call
fails fast for ``open_s``; then one trial call may go through (half-open): a success
closes it, a failure opens it again. A call that ends for a reason of our own (our
deadline cut it short, our connection pool was full, the request was cancelled) is
*neutral*: it says nothing about payment and changes no count. Time comes from an
injected clock, so the rules are tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

State = Literal["closed", "open", "half_open"]
Verdict = Literal["failure", "neutral", "success"]


class CircuitOpen(Exception):
    """The circuit is open (or its one trial call is under way): fail fast."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"circuit open for another {retry_after_s:.1f} s")
        self.retry_after_s = retry_after_s


class CircuitBreaker:
    def __init__(
        self,
        *,
        threshold: int,
        open_s: float,
        classify: Callable[[BaseException], Verdict],
        on_change: Callable[[State], None] = lambda _: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._open_s = open_s
        self._classify = classify
        self._on_change = on_change
        self._clock = clock
        self._state: State = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> State:
        return self._state

    @contextmanager
    def call(self) -> Iterator[None]:
        """Around one call to payment: refuses it while open, then counts its outcome."""
        probe = self._admit()
        try:
            yield
        except BaseException as exc:
            self._record(self._classify(exc), probe)
            raise
        self._record("success", probe)

    def _admit(self) -> bool:
        """Whether this call is the trial call; CircuitOpen if it may not go at all."""
        if self._state == "open":
            waited = self._clock() - self._opened_at
            if waited < self._open_s:
                raise CircuitOpen(self._open_s - waited)
            self._set("half_open")
        if self._state == "half_open":
            if self._probing:  # one trial call at a time; the rest still fail fast
                raise CircuitOpen(1.0)
            self._probing = True
            return True
        return False

    def _record(self, verdict: Verdict, probe: bool) -> None:
        if probe:
            self._probing = False
        if verdict == "success":
            self._failures = 0
            self._set("closed")
        elif verdict == "failure":
            self._failures += 1
            if self._state == "half_open" or self._failures >= self._threshold:
                self._opened_at = self._clock()
                self._set("open")

    def _set(self, state: State) -> None:
        if state != self._state:
            self._state = state
            self._on_change(state)
