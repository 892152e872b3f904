"""Carrying out the plan's faults against a running platform.

Processes are found through the process manager (circus), which also restarts what is
killed; a paused process always gets SIGCONT again, also when the soak is interrupted.
Payment phases go through payment's admin API and end by restoring the simulation that
was in force before. Kafka nodes and the registry are stopped and started like
``just infra-up`` does; in a cluster (``KAFKA_NODES=3``) one node at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import httpx
from confluent_kafka import KafkaError, Message, Producer

from pizza_common.contracts import subject_for
from pizza_common.kafka import registry_client
from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import admin_config
from pizza_infra.operator_tokens import ADMIN_SCOPE, payment_headers
from pizza_infra.scenarios.chaos.model import Planted
from pizza_infra.scenarios.chaos.plan import Fault
from pizza_infra.scenarios.chaos.poison import PLANTED_HEADER, poison_value
from pizza_infra.servers.kafka import start_broker, stop_broker
from pizza_infra.servers.registry import registry_process, start_registry
from pizza_infra.supervisor.platform import Platform, ProcessInfo
from pizza_infra.supervisor.services import PlatformSettings

PLANT_TIMEOUT_S = 90.0
# librdkafka's log level (syslog's): a broker being down is the point here, not news; the
# outcome of each write is checked.
QUIET = 2


class Skipped(Exception):
    """The fault could not be applied now (e.g. no such process is running)."""


@dataclass
class FaultRecord:
    fault: Fault
    outcome: str = "planned"  # injected, skipped or failed
    started_s: float | None = None
    ended_s: float | None = None
    detail: str = ""


class Injector:
    """Applies faults to one platform and remembers what must be undone."""

    def __init__(
        self, platform: PlatformSettings, infra: InfraSettings, rng: random.Random
    ) -> None:
        self.platform = platform
        self.infra = infra
        self.rng = rng
        self.paused: set[int] = set()
        self.planted: list[Planted] = []
        self._simulation: dict[str, Any] | None = None

    # -- what must always be undone --------------------------------------------------

    def remember_simulation(self) -> None:
        """The payment simulation in force before any fault: what every phase restores."""
        answer = httpx.get(self._simulation_url, headers=self._admin(), timeout=10)
        answer.raise_for_status()
        self._simulation = answer.json()

    def resume_all(self) -> None:
        """SIGCONT to every process a pause left stopped."""
        for pid in list(self.paused):
            _signal(pid, signal.SIGCONT)
            self.paused.discard(pid)

    def restore_simulation(self, timeout_s: float = 60.0) -> bool:
        """Put the remembered simulation back on every payment instance, retrying while
        one is down, paused or restarting."""
        if self._simulation is None:
            return True
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            taken, instances = self._put_simulation({})
            if taken == instances:
                return True
            time.sleep(1)
        return False

    def _put_simulation(self, change: dict[str, Any]) -> tuple[int, int]:
        """``change`` over the remembered simulation, on each instance (every instance keeps
        its own, and the service's address reaches only one). Returns (took it, instances)."""
        body = {**(self._simulation or {}), **change}
        urls = self._payment_urls()
        headers = self._admin()
        taken = 0
        for url in urls:
            try:
                answer = httpx.put(f"{url}/admin/simulation", json=body, headers=headers, timeout=5)
                taken += answer.status_code == 200
            except httpx.HTTPError:
                pass  # paused, killed or restarting: it starts again from its own settings
        return taken, len(urls)

    def _admin(self) -> dict[str, str]:
        """payment's admin API: a payments:admin token while tokens are on (cached)."""
        return payment_headers(self.infra, ADMIN_SCOPE)

    def _payment_urls(self) -> list[str]:
        running = Platform(self.platform, self.infra).processes()
        own = [f"http://127.0.0.1:{p.port}" for p in running if p.service == "payment" and p.port]
        return own or [self.platform.url("payment")]

    @property
    def _simulation_url(self) -> str:
        return f"{self.platform.url('payment')}/admin/simulation"

    # -- the faults --------------------------------------------------------------------

    async def inject(self, fault: Fault) -> str:
        """Apply ``fault`` (and undo it after its duration); returns what was done."""
        if fault.action == "kill":
            process = await asyncio.to_thread(self._pick, fault.target)
            _signal(process.pid, signal.SIGKILL)
            return f"SIGKILL {process.instance} (pid {process.pid})"
        if fault.action == "pause":
            process = await asyncio.to_thread(self._pick, fault.target)
            self.paused.add(process.pid)
            _signal(process.pid, signal.SIGSTOP)
            try:
                await asyncio.sleep(fault.duration_s)
            finally:
                _signal(process.pid, signal.SIGCONT)
                self.paused.discard(process.pid)
            return f"SIGSTOP {process.instance} (pid {process.pid}) for {fault.duration_s} s"
        if fault.action == "payment":
            return await self._payment_phase(fault)
        if fault.kind == "restart:broker":
            node = int(fault.target.rpartition("-")[2])
            await asyncio.to_thread(stop_broker, self.infra, node, kill=fault.hard)
            await asyncio.sleep(fault.duration_s)
            await asyncio.to_thread(start_broker, self.infra, node)
            how = "killed" if fault.hard else "stopped"
            return f"kafka node {node} {how}, down {fault.duration_s} s, answering again"
        if fault.kind == "restart:registry":
            await asyncio.to_thread(registry_process(self.infra).stop)
            await asyncio.sleep(fault.duration_s)
            await asyncio.to_thread(start_registry, self.infra)
            return f"registry down {fault.duration_s} s, answering again"
        if fault.action == "poison":
            poison = fault.kind.partition(":")[2]
            planted = await asyncio.to_thread(self._plant, poison, fault.target)
            return f"{planted.kind} in {planted.topic}, key {planted.key}"
        raise ValueError(f"unknown fault {fault.kind}")

    def _pick(self, target: str) -> ProcessInfo:
        """A running process of ``target`` (an instance, else any of the service's)."""
        running = Platform(self.platform, self.infra).processes()
        exact = [p for p in running if p.instance == target]
        service = target.partition("-")[0]
        candidates = exact or [p for p in running if p.service == service and p.port]
        if not candidates:
            raise Skipped(f"no {target} process is running")
        return self.rng.choice(candidates)

    async def _payment_phase(self, fault: Fault) -> str:
        if self._simulation is None:
            raise Skipped("the payment simulation in force is not known")
        change: dict[str, Any] = (
            {"error_rate": fault.intensity} if fault.kind == "payment:errors" else {"hang": True}
        )
        try:
            taken, instances = await asyncio.to_thread(self._put_simulation, change)
            if not taken:
                raise RuntimeError("no payment instance took the new simulation")
            await asyncio.sleep(fault.duration_s)
        finally:
            restored = await asyncio.to_thread(self.restore_simulation)
        what = ", ".join(f"{key} {value}" for key, value in change.items())
        return f"payment {what} on {taken} of {instances} instances for {fault.duration_s} s" + (
            "" if restored else " (NOT restored)"
        )

    def _plant(self, kind: str, topic: str) -> Planted:
        key = str(uuid.uuid4())
        schema_id = self._schema_id(topic) if kind == "year-10000" else 0
        value = poison_value(kind, topic, key, schema_id, self.rng)
        # As the administrator: no service's principal may write a poisoned record into a
        # topic it does not own, which is what the fault needs.
        producer = Producer(
            admin_config(self.infra, acks="all", log_level=QUIET, **{"linger.ms": 0})
        )
        errors: list[KafkaError] = []

        def delivered(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                errors.append(error)

        producer.produce(
            topic, key=key, value=value, headers=[(PLANTED_HEADER, kind)], on_delivery=delivered
        )
        if producer.flush(PLANT_TIMEOUT_S) or errors:
            raise RuntimeError(f"planting {kind} in {topic} failed: {errors or 'timed out'}")
        planted = Planted(topic, key, kind)
        self.planted.append(planted)
        return planted

    def _schema_id(self, topic: str) -> int:
        """The registered id of the topic's schema; waits while the registry restarts."""
        deadline = time.monotonic() + PLANT_TIMEOUT_S
        while True:
            try:
                registered = registry_client(self.infra.schema_registry_url).get_latest_version(
                    subject_for(topic)
                )
                if registered.schema_id is None:
                    raise RuntimeError(f"the registry has no id for {subject_for(topic)}")
                return registered.schema_id
            except Exception:  # the registry is down or restarting: wait for it
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)


async def run_plan(
    injector: Injector,
    plan: list[Fault],
    began: float,
    on_done: Callable[[FaultRecord], None] = lambda _: None,
) -> list[FaultRecord]:
    """Every fault of ``plan`` at its time (seconds after ``began``, a monotonic time).

    Two faults on one resource never overlap: the later one waits for the earlier.
    """
    locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
    records = [FaultRecord(fault) for fault in plan]

    async def one(record: FaultRecord) -> None:
        fault = record.fault
        await asyncio.sleep(max(0.0, began + fault.at_s - time.monotonic()))
        resource = fault.resource
        guard: AbstractAsyncContextManager[Any] = locks[resource] if resource else nullcontext()
        async with guard:
            record.started_s = round(time.monotonic() - began, 2)
            try:
                record.detail = await injector.inject(fault)
                record.outcome = "injected"
            except Skipped as exc:
                record.outcome, record.detail = "skipped", str(exc)
            except Exception as exc:  # noqa: BLE001 - a failed fault is reported, the soak goes on
                record.outcome, record.detail = "failed", repr(exc)
            record.ended_s = round(time.monotonic() - began, 2)
        on_done(record)

    await asyncio.gather(*(one(record) for record in records))
    return records


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # gone meanwhile (killed, restarted)
        os.kill(pid, sig)
