"""Gathers what the board shows, once a second at most, whoever is looking: the cluster
(admin API), every process's health, order_svc's metrics; and keeps the lag history and
order rates those readings make."""

from __future__ import annotations

import asyncio
import time

import httpx

from board_svc.board_view import BoardView, board_view
from board_svc.kafka_admin import ClusterReader
from board_svc.lag import LagHistory, lag_rows, total_by_group
from board_svc.lag_chart import lag_chart
from board_svc.metrics_text import (
    CIRCUIT_OPEN,
    ORDERS,
    OUTBOX_BACKLOG,
    OrderCounts,
    OrderRates,
    by_label,
    single,
)
from board_svc.probes import health_of, metrics_text
from board_svc.targets import Target, load_targets
from pizza_common.contracts import CONSUMER_GROUPS, KITCHEN_GROUP, ORDER_PLACED


class Observer:
    def __init__(
        self, cluster: ClusterReader, targets_spec: str, targets_file: str | None, ttl_s: float
    ) -> None:
        self.cluster = cluster
        self.history = LagHistory()
        self._rates = OrderRates()
        self._targets_spec = targets_spec
        self._targets_file = targets_file
        self._ttl_s = ttl_s
        self._http = httpx.AsyncClient()
        self._view: tuple[float, BoardView] | None = None
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    def targets(self) -> list[Target]:
        return load_targets(self._targets_spec, self._targets_file)

    async def board(self) -> BoardView:
        async with self._lock:
            if self._view is not None and time.monotonic() - self._view[0] < self._ttl_s:
                return self._view[1]
            view = await self._gather()
            self._view = (time.monotonic(), view)
            return view

    async def _gather(self) -> BoardView:
        targets = self.targets()
        order = next((t for t in targets if t.job == "order"), None)
        snapshot, processes, order_metrics = await asyncio.gather(
            self.cluster.snapshot(),
            health_of(self._http, targets),
            metrics_text(self._http, order.url) if order else _nothing(),
        )
        if not snapshot.error:
            self.history.add(snapshot.taken_at, total_by_group(lag_rows(snapshot, CONSUMER_GROUPS)))
        outbox = circuit = None
        if order_metrics:
            self._rates.add(OrderCounts(time.time(), by_label(order_metrics, ORDERS, "outcome")))
            outbox = single(order_metrics, OUTBOX_BACKLOG)
            circuit = single(order_metrics, CIRCUIT_OPEN)
        return board_view(
            snapshot,
            processes,
            CONSUMER_GROUPS,
            (KITCHEN_GROUP, ORDER_PLACED),
            lag_chart(self.history.samples),
            self._rates.per_minute(),
            outbox,
            circuit,
        )


async def _nothing() -> None:
    return None
