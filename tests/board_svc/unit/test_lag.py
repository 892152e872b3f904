"""Lag per group and partition from a cluster snapshot, its history and its chart."""

from __future__ import annotations

from board_svc.board_view import kitchens_of, with_missing
from board_svc.cluster import ClusterSnapshot, GroupMember, GroupState, PartitionState, TopicState
from board_svc.lag import LagHistory, lag_rows, total_by_group
from board_svc.lag_chart import lag_chart
from board_svc.probes import ProcessHealth


def _snapshot(
    committed: dict[tuple[str, int], int], members: tuple[GroupMember, ...] = ()
) -> ClusterSnapshot:
    placed = TopicState(
        "order.placed",
        (
            PartitionState(0, 1, (1,), (1,), start=0, end=10),
            PartitionState(1, 1, (1,), (1,), start=4, end=7),
        ),
    )
    return ClusterSnapshot(
        taken_at=100.0,
        topics={"order.placed": placed},
        groups={"kitchen": GroupState("kitchen", "STABLE", members, committed)},
    )


def test_lag_is_the_end_minus_the_committed_offset() -> None:
    rows = lag_rows(
        _snapshot({("order.placed", 0): 6, ("order.placed", 1): 7}), {"kitchen": ["order.placed"]}
    )
    assert [(r.partition, r.committed, r.end, r.lag) for r in rows] == [(0, 6, 10, 4), (1, 7, 7, 0)]


def test_a_partition_never_committed_counts_from_the_oldest_retained_record() -> None:
    [_, second] = lag_rows(_snapshot({("order.placed", 0): 10}), {"kitchen": ["order.placed"]})
    assert (second.committed, second.lag) == (None, 3)


def test_a_group_that_does_not_exist_yet_lags_by_everything_retained() -> None:
    rows = lag_rows(_snapshot({}), {"delivery": ["order.placed", "order.ready"]})
    assert total_by_group(rows) == {"delivery": 13}  # order.ready does not exist: no rows


def test_each_partition_names_the_member_that_owns_it() -> None:
    member = GroupMember("m-1", "kitchen-2", "/127.0.0.1", (("order.placed", 1),))
    snapshot = _snapshot({}, (member,))
    rows = lag_rows(snapshot, {"kitchen": ["order.placed"]})
    assert [r.owner for r in rows] == [None, "kitchen-2"]
    assert [
        (k.instance, k.partitions) for k in kitchens_of(snapshot, "kitchen", "order.placed")
    ] == [("kitchen-2", (1,))]


def test_the_history_keeps_one_sample_per_reading_and_forgets_the_oldest() -> None:
    history = LagHistory(size=2)
    history.add(1.0, {"kitchen": 1})
    history.add(1.0, {"kitchen": 5})  # the same reading served to another viewer
    history.add(2.0, {"kitchen": 2})
    history.add(3.0, {"kitchen": 3})
    assert [(s.at, s.by_group["kitchen"]) for s in history.samples] == [(2.0, 2), (3.0, 3)]


def test_the_chart_draws_a_line_per_group_and_says_the_latest_lag() -> None:
    history = LagHistory()
    for second, lag in enumerate((0, 3, 5, 0)):
        history.add(float(second), {"kitchen": lag, "delivery": 0})
    svg = lag_chart(history.samples)
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert svg.count("<polyline") == 2
    assert 'aria-label="Consumer lag over the last 120 s; now delivery: 0, kitchen: 0"' in svg
    assert ">5</text>" in svg  # the top of the scale is the highest lag seen


def test_an_empty_history_still_draws_a_chart() -> None:
    assert "no data yet" in lag_chart([])


def test_a_needed_service_without_any_process_is_shown_down() -> None:
    listed = [ProcessHealth("order", "order_svc", "http://o", True, None)]
    rows = with_missing(listed)
    assert {(p.job, p.healthy) for p in rows} >= {("order", True), ("kitchen", False)}
    assert len(rows) == 4
