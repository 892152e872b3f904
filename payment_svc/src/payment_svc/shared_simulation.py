"""The live simulation: one instance's copy of the simulation every instance applies, kept
as one row in the service's database (:class:`payment_svc.store.SimulationStore`).

``PUT /admin/simulation`` writes the row and the instance that took it applies it at
once. Every instance keeps the row cached and reads it again once its copy is older than
``PAYMENT_SIMULATION_REFRESH_S``, when a request needs it: so every instance follows a
change within that time, and a request costs no database read except the one that finds
the copy stale (one per instance and interval).

The environment (``PAYMENT_LATENCY_MS``, ``PAYMENT_ERROR_RATE``, ...) only seeds a database
that has no row yet: an instance that starts later, restarted after a crash or added by
scaling, must not undo for all what an operator set for all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from payment_svc.domain import SimulationConfig

log = structlog.get_logger(__name__)

# How old an instance's copy may get by default (``PAYMENT_SIMULATION_REFRESH_S``).
DEFAULT_REFRESH_S = 0.5


class SimulationBackend(Protocol):
    """Where the shared simulation is kept: :class:`payment_svc.store.SimulationStore`, or a
    fake."""

    async def load(self) -> SimulationConfig | None: ...

    async def seed(self, config: SimulationConfig) -> bool: ...

    async def save(self, config: SimulationConfig) -> None: ...


class SharedSimulation:
    """One instance's copy of the shared simulation, at most ``refresh_s`` old when used.

    ``clock`` is monotonic seconds. A copy read at ``t`` is used until ``t + refresh_s``;
    the first request after that reads the row again (concurrent ones wait for that one
    read). If the read fails, the copy stays in force and is retried after ``refresh_s``.
    """

    def __init__(
        self,
        store: SimulationBackend,
        config: SimulationConfig,
        *,
        refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._config = config
        self._refresh_s = refresh_s
        self._clock = clock
        self._read_at = clock()
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        store: SimulationBackend,
        *,
        seed: SimulationConfig,
        refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> SharedSimulation:
        """The stored simulation; ``seed`` (the environment's) only if none is stored yet."""
        seeded = await store.seed(seed)
        read_at = clock()
        stored = await store.load()
        if stored is None:  # just seeded or found: only a delete by hand gets here
            raise RuntimeError("the simulation's row vanished while payment_svc started")
        if seeded:
            log.info("simulation seeded from the environment", **_summary(stored))
        elif stored != seed:
            log.warning(
                "simulation from the database, not from the environment",
                why="PAYMENT_LATENCY_MS, PAYMENT_ERROR_RATE, PAYMENT_HANG and "
                "PAYMENT_AMOUNT_LIMIT seed only a database that has no simulation yet; "
                "PUT /admin/simulation changes it",
                **_summary(stored),
            )
        shared = cls(store, stored, refresh_s=refresh_s, clock=clock)
        shared._read_at = read_at
        return shared

    async def current(self) -> SimulationConfig:
        """The simulation to apply to a request now."""
        if not self._stale():
            return self._config
        async with self._lock:
            if self._stale():  # not read meanwhile by a request that held the lock
                await self._read()
        return self._config

    async def reload(self) -> SimulationConfig:
        """Read the row now (``GET /admin/simulation``): the simulation in force."""
        async with self._lock:
            await self._read()
        return self._config

    async def replace(self, config: SimulationConfig) -> None:
        """Store ``config`` for every instance and apply it here at once."""
        # Under the lock: a read that started before this write cannot put the old back.
        async with self._lock:
            started = self._clock()  # as for a read: a later PUT elsewhere is not missed
            await self._store.save(config)
            self._config = config
            self._read_at = started

    def _stale(self) -> bool:
        return self._clock() - self._read_at >= self._refresh_s

    async def _read(self) -> None:
        started = self._clock()  # the copy is at least as new as the moment the read began
        try:
            stored = await self._store.load()
        except Exception as exc:  # noqa: BLE001 - keep serving with the copy, say why
            log.warning("simulation not refreshed: keeping the last one read", error=repr(exc))
            stored = None
        self._read_at = started
        if stored is not None and stored != self._config:
            self._config = stored
            log.info("simulation changed", **_summary(stored))


def _summary(config: SimulationConfig) -> dict[str, Any]:
    return {"latency_ms": str(config.latency), "error_rate": config.error_rate, "hang": config.hang}
