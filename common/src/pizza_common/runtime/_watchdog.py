"""A consumer's watchdog: is it still turning, or stuck where nothing can unstick it?

librdkafka's calls block a thread and cannot be cancelled; one that outlives its own
timeout (seen: ``send_offsets_to_transaction`` after a broker restart) holds the
consumer forever while the process looks alive. The watchdog notices three things:

* a client call running past its limit: nothing in the process can free that thread, so
  the process exits non-zero and its supervisor (circus, Kubernetes) starts it anew;
* a loop that stopped turning (no ``turned()`` for ``stall_after_s``);
* a record retried again and again, a broker out of reach: reported, not fatal (the
  consumer recreates its clients itself).

``problem()`` is what ``/ready`` reports; it is None only while all is well.
"""

from __future__ import annotations

import asyncio
import faulthandler
import itertools
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger("pizza.watchdog")

EXIT_STUCK = 70
"""Exit status of a process whose client call never returned (EX_SOFTWARE)."""


def exit_if_crashed(task: asyncio.Task[None]) -> None:
    """Done-callback for a service's essential task (its consumer, its fleet).

    Such a task ends on its own only on an error no retry can fix; a service that cannot
    do its work should stop and be restarted rather than answer as if alive.
    """
    if task.cancelled() or task.exception() is None:
        return
    log.error("essential task failed, stopping", task=task.get_name(), error=repr(task.exception()))
    os.kill(os.getpid(), signal.SIGTERM)


async def stop_tasks(stopping: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    """Tell a service's essential tasks to stop (``stopping``) and wait for them; an error
    one ended with is logged, not raised, so the rest of the shutdown still runs."""
    stopping.set()
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(result, BaseException):
            log.error("stopped with an error", error=repr(result))


def exit_stuck(reason: str) -> None:
    """Dump every thread's stack into the log and leave at once.

    ``os._exit``: a normal shutdown would wait for the stuck thread and hang again.
    """
    log.critical("watchdog: stuck, exiting for a restart", reason=reason)
    sys.stdout.flush()
    faulthandler.dump_traceback(all_threads=True)
    sys.stderr.flush()
    os._exit(EXIT_STUCK)


@dataclass(frozen=True, slots=True)
class _Call:
    name: str
    started: float
    limit_s: float


class Watchdog:
    """Tracks client calls and loop turns; ``watch()`` acts on a stuck call."""

    def __init__(
        self,
        *,
        stall_after_s: float,
        on_stuck: Callable[[str], None] = exit_stuck,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stall_after_s = stall_after_s
        self._on_stuck = on_stuck
        self._clock = clock
        self._calls: dict[int, _Call] = {}
        self._ids = itertools.count()
        self._last_turn: float | None = None
        self._concerns: dict[str, str] = {}

    def enter(self, name: str, limit_s: float) -> int:
        """A blocking call starts; it may take ``limit_s`` before it counts as stuck."""
        token = next(self._ids)
        self._calls[token] = _Call(name, self._clock(), limit_s)
        return token

    def leave(self, token: int) -> None:
        self._calls.pop(token, None)

    def turned(self) -> None:
        """The loop came round once more."""
        self._last_turn = self._clock()

    def stopped(self) -> None:
        """The loop ended on purpose: not turning is no longer a problem."""
        self._last_turn = None

    def concern(self, key: str, reason: str | None) -> None:
        """Report (or, with None, withdraw) a problem that is not fatal by itself."""
        if reason is None:
            self._concerns.pop(key, None)
        else:
            self._concerns[key] = reason

    def stuck_call(self) -> str | None:
        now = self._clock()
        for call in list(self._calls.values()):
            running = now - call.started
            if running > call.limit_s:
                return f"{call.name} has not returned for {running:.0f} s"
        return None

    def problem(self) -> str | None:
        stuck = self.stuck_call()
        if stuck is not None:
            return stuck
        if self._last_turn is not None:
            idle = self._clock() - self._last_turn
            if idle > self._stall_after_s:
                return f"the consumer loop has not turned for {idle:.0f} s"
        if self._concerns:
            return "; ".join(self._concerns[key] for key in sorted(self._concerns))
        return None

    async def watch(self, every_s: float = 1.0) -> None:
        """Until cancelled: hand a stuck call to ``on_stuck`` (by default: exit)."""
        while True:
            await asyncio.sleep(every_s)
            stuck = self.stuck_call()
            if stuck is not None:
                self._on_stuck(stuck)
                return
