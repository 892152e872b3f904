"""What the operators' board shows at one moment, put together from the cluster snapshot,
the processes' health and order_svc's metrics. Pure: :mod:`board_svc.observer` gathers
the inputs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from board_svc.cluster import ClusterSnapshot
from board_svc.lag import LagRow, lag_rows, total_by_group
from board_svc.probes import ProcessHealth


@dataclass(frozen=True, slots=True)
class KitchenView:
    instance: str
    partitions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class BoardView:
    processes: tuple[ProcessHealth, ...]
    kitchens: tuple[KitchenView, ...]
    kitchen_group_state: str
    lag: tuple[LagRow, ...]
    lag_by_group: dict[str, int]
    chart_svg: str
    orders_per_minute: dict[str, float]
    outbox_backlog: float | None
    circuit_open: float | None
    dead_letters: dict[str, int]
    cluster_error: str | None


def kitchens_of(snapshot: ClusterSnapshot, group: str, topic: str) -> tuple[KitchenView, ...]:
    """Each member of the kitchen group with the partitions of ``topic`` it owns."""
    state = snapshot.groups.get(group)
    if state is None:
        return ()
    views = [
        KitchenView(
            member.client_id or member.member_id,
            tuple(sorted(p for t, p in member.assignment if t == topic)),
        )
        for member in state.members
    ]
    return tuple(sorted(views, key=lambda view: view.instance))


def dead_letters(snapshot: ClusterSnapshot) -> dict[str, int]:
    """Records kept in each dead-letter topic."""
    return {
        name: topic.retained for name, topic in snapshot.topics.items() if name.endswith(".dlq")
    }


EXPECTED_JOBS = ("payment", "order", "kitchen", "delivery")
"""The services the platform needs: one with no process listed is shown as down."""


def with_missing(processes: Iterable[ProcessHealth]) -> tuple[ProcessHealth, ...]:
    """The processes, and a row for each needed service none of them belongs to (a
    stopped or scaled-to-zero service leaves the targets altogether)."""
    listed = tuple(processes)
    jobs = {p.job for p in listed}
    missing = [
        ProcessHealth(job, "(none)", "", False, "no instance runs")
        for job in EXPECTED_JOBS
        if job not in jobs
    ]
    return (*listed, *missing)


def board_view(
    snapshot: ClusterSnapshot,
    processes: Iterable[ProcessHealth],
    groups: Mapping[str, Iterable[str]],
    kitchen: tuple[str, str],
    chart_svg: str,
    orders_per_minute: dict[str, float],
    outbox_backlog: float | None,
    circuit_open: float | None,
) -> BoardView:
    rows = lag_rows(snapshot, groups)
    kitchen_group, kitchen_topic = kitchen
    state = snapshot.groups.get(kitchen_group)
    return BoardView(
        processes=with_missing(processes),
        kitchens=kitchens_of(snapshot, kitchen_group, kitchen_topic),
        kitchen_group_state=state.state if state else "unknown",
        lag=tuple(rows),
        lag_by_group=total_by_group(rows),
        chart_svg=chart_svg,
        orders_per_minute=orders_per_minute,
        outbox_backlog=outbox_backlog,
        circuit_open=circuit_open,
        dead_letters=dead_letters(snapshot),
        cluster_error=snapshot.error,
    )
