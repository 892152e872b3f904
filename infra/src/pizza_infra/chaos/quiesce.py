"""After the faults: bring every process back and wait, bounded, until nothing is in flight.

Settled means: no consumer lag, no order.placed waiting in order_svc's outbox, no order
left unsettled by the payment saga, and every accepted order delivered. Whatever is not settled
when the bound is reached is left for the invariants to report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pizza_infra.chaos.model import ACCEPTED, DELIVERED, UNSETTLED
from pizza_infra.chaos.observe import (
    PlatformFiles,
    read_deliveries,
    read_lag,
    read_orders,
    unpublished_events,
)
from pizza_infra.config import InfraSettings


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
    files: PlatformFiles,
    infra: InfraSettings,
    timeout_s: float,
    report: Callable[[str], None] = print,
) -> Settling:
    began = time.monotonic()
    last = ""
    open_: list[str] = []
    while True:
        try:
            open_ = in_flight(files, infra)
        except Exception as exc:  # noqa: BLE001 - a broker still electing leaders: ask again
            open_ = [f"cannot tell yet: {exc!r}"]
        elapsed = time.monotonic() - began
        if not open_:
            return Settling(True, round(elapsed, 1))
        if elapsed > timeout_s:
            return Settling(False, round(elapsed, 1), open_)
        summary = ", ".join(open_)
        if summary != last:
            report(f"  {elapsed:5.0f} s  waiting: {summary}")
            last = summary
        time.sleep(2)
