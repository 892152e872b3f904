"""After the faults: bring every process back and wait, bounded, until nothing is in flight.

Settled means: no consumer lag, no order.placed waiting in order_svc's outbox, no order
left unsettled by the payment saga, and every accepted order delivered. A platform that
is slow but moving is waited for (up to a cap); one where nothing changed for the stall
bound is stuck, and what is still open is left for the invariants to report.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pizza_infra.config import InfraSettings
from pizza_infra.scenarios.chaos.model import ACCEPTED, DELIVERED, UNSETTLED
from pizza_infra.scenarios.chaos.observe import (
    PlatformFiles,
    read_deliveries,
    read_lag,
    read_orders,
    unpublished_events,
)
from pizza_infra.scenarios.chaos.plan import SERVICES
from pizza_infra.supervisor.platform import Platform
from pizza_infra.supervisor.services import PlatformSettings

QUIESCE_CAP_S = 900.0  # however slowly it still moves, the soak ends


@dataclass
class Settling:
    settled: bool = False
    seconds: float = 0.0
    waiting_for: list[str] = field(default_factory=list)  # what was still open at the end


def in_flight(files: PlatformFiles, infra: InfraSettings) -> list[str]:
    """What is still moving, in words; empty when the platform has settled."""
    open_: list[str] = []
    lag = sum(row.lag for row in read_lag(infra))
    if lag:
        open_.append(f"consumer lag {lag}")
    unpublished = unpublished_events(files.database("order_svc"))
    if unpublished:
        open_.append(f"{unpublished} order.placed in the outbox")
    orders = read_orders(files.database("order_svc"))
    unsettled = sum(order.status in UNSETTLED for order in orders)
    if unsettled:
        open_.append(f"{unsettled} orders unsettled (payment pending or unavailable)")
    deliveries, _ = read_deliveries(files.database("delivery_svc"))
    delivered = {row.order_id for row in deliveries if row.status == DELIVERED}
    undelivered = sum(o.status == ACCEPTED and o.order_id not in delivered for o in orders)
    if undelivered:
        open_.append(f"{undelivered} accepted orders not delivered")
    return open_


def wait_until_settled(
    probe: Callable[[], list[str]],
    stall_s: float,
    cap_s: float = QUIESCE_CAP_S,
    report: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Settling:
    """Ask ``probe`` (what is still open, e.g. :func:`in_flight`) until it says nothing,
    or nothing changed for ``stall_s``, or ``cap_s`` passed."""
    began = clock()
    changed = began
    last: list[str] | None = None
    while True:
        try:
            open_ = probe()
        except Exception as exc:  # noqa: BLE001 - a broker still electing leaders: ask again
            open_ = [f"cannot tell yet: {exc!r}"]
        now = clock()
        if not open_:
            return Settling(True, round(now - began, 1))
        if open_ != last:
            report(f"  {now - began:5.0f} s  waiting: {', '.join(open_)}")
            last, changed = open_, now
        if now - changed > stall_s or now - began > cap_s:
            return Settling(False, round(now - began, 1), open_)
        sleep(2)


def dump_stacks(platform: PlatformSettings, infra: InfraSettings) -> list[str]:
    """SIGUSR1 to every service process: each writes all its threads' stacks into its log,
    the evidence of where a platform that did not settle is stuck."""
    dumped = []
    for process in Platform(platform, infra).processes():
        # Services handle SIGUSR1; to others (and a launcher not yet exec-ed) it is fatal.
        if process.service in SERVICES and process.port:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGUSR1)
                dumped.append(process.instance)
    return dumped
