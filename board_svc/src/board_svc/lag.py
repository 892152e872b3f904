"""Consumer lag from a cluster snapshot, and its recent history for the chart.

Lag is the partition's end offset minus the group's committed offset. A partition the
group never committed counts from the oldest retained record, as the groups start from
the earliest offset (the same rule as ``just lag``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from board_svc.cluster import ClusterSnapshot


@dataclass(frozen=True, slots=True)
class LagRow:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int
    owner: str | None
    """The client id of the member that owns the partition now, if any."""


def lag_rows(snapshot: ClusterSnapshot, groups: Mapping[str, Iterable[str]]) -> list[LagRow]:
    """One row per group and partition of each topic the group reads."""
    rows: list[LagRow] = []
    for group, topics in groups.items():
        state = snapshot.groups.get(group)
        committed = state.committed if state else {}
        owners = {
            tp: member.client_id
            for member in (state.members if state else ())
            for tp in member.assignment
        }
        for topic in sorted(topics):
            found = snapshot.topics.get(topic)
            for p in found.partitions if found else ():
                done = committed.get((topic, p.partition))
                lag = p.end - (done if done is not None else p.start)
                rows.append(
                    LagRow(
                        group,
                        topic,
                        p.partition,
                        done,
                        p.end,
                        max(lag, 0),
                        owners.get((topic, p.partition)),
                    )
                )
    return rows


def total_by_group(rows: Iterable[LagRow]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.group] = totals.get(row.group, 0) + row.lag
    return totals


@dataclass(frozen=True, slots=True)
class LagSample:
    at: float
    by_group: dict[str, int]


class LagHistory:
    """The last ``size`` samples of the total lag per group, one per snapshot read."""

    def __init__(self, size: int = 120) -> None:
        self._samples: deque[LagSample] = deque(maxlen=size)

    def add(self, at: float, by_group: dict[str, int]) -> None:
        if self._samples and self._samples[-1].at >= at:
            return  # the same snapshot, served to another viewer
        self._samples.append(LagSample(at, dict(by_group)))

    @property
    def samples(self) -> list[LagSample]:
        return list(self._samples)
