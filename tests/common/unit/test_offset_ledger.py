"""The ledger of records in flight: a partition commits only up to its first unfinished
record, whatever order its records finish in."""

from __future__ import annotations

from pizza_common.kafka._ledger import OffsetLedger, Tracked, commit_offsets

T = "order.placed"


_ITEMS: dict[tuple[int, int], str] = {}


def _item(partition: int, offset: int) -> str:
    """The one item of a record: the ledger tells records apart by identity."""
    return _ITEMS.setdefault((partition, offset), f"{partition}@{offset}")


def _started(ledger: OffsetLedger[str], partition: int, *offsets: int) -> None:
    for offset in offsets:
        ledger.start(T, partition, offset, _item(partition, offset))


def _done(ledger: OffsetLedger[str], partition: int, offset: int) -> bool:
    return ledger.done(T, partition, offset, _item(partition, offset))


def _items(records: list[Tracked[str]]) -> list[str]:
    return [record.item for record in records]


def test_a_record_finishing_early_waits_for_the_earlier_ones_of_its_partition() -> None:
    ledger: OffsetLedger[str] = OffsetLedger()
    _started(ledger, 0, 10, 11, 12)

    assert _done(ledger, 0, 12)
    assert _done(ledger, 0, 11)
    assert ledger.committable() == []  # 10 still cooks

    assert _done(ledger, 0, 10)
    ready = ledger.committable()
    assert _items(ready) == ["0@10", "0@11", "0@12"]
    assert commit_offsets(ready) == {(T, 0): 13}
    ledger.committed(ready)
    assert len(ledger) == 0


def test_partitions_commit_independently() -> None:
    ledger: OffsetLedger[str] = OffsetLedger()
    _started(ledger, 0, 5, 6)
    _started(ledger, 3, 40)

    _done(ledger, 0, 6)
    _done(ledger, 3, 40)

    ready = ledger.committable()
    assert _items(ready) == ["3@40"]
    assert commit_offsets(ready) == {(T, 3): 41}
    ledger.committed(ready)
    _done(ledger, 0, 5)
    assert commit_offsets(ledger.committable()) == {(T, 0): 7}


def test_a_record_handled_again_holds_back_what_follows_it() -> None:
    ledger: OffsetLedger[str] = OffsetLedger()
    _started(ledger, 1, 1, 2)
    _done(ledger, 1, 1)
    _done(ledger, 1, 2)

    assert ledger.redo(T, 1, 1, _item(1, 1))  # its transaction was aborted

    assert ledger.committable() == []
    _done(ledger, 1, 1)
    assert _items(ledger.committable()) == ["1@1", "1@2"]


def test_nothing_after_a_record_given_back_commits_and_its_followers_are_orphans() -> None:
    ledger: OffsetLedger[str] = OffsetLedger()
    _started(ledger, 2, 7, 8, 9)
    _done(ledger, 2, 8)

    orphans = ledger.give_back(T, 2, 7, _item(2, 7))

    assert orphans == ["2@8"]
    assert not _done(ledger, 2, 9)  # finished after: an orphan too
    assert ledger.committable() == []


def test_a_dropped_partition_is_forgotten_and_its_late_records_count_for_nothing() -> None:
    ledger: OffsetLedger[str] = OffsetLedger()
    _started(ledger, 4, 3)
    _started(ledger, 5, 3)

    ledger.drop([(T, 4)])

    assert not _done(ledger, 4, 3)
    assert not ledger.redo(T, 4, 3, _item(4, 3))
    assert ledger.items() == ["5@3"]
    assert ledger.items([(T, 4)]) == []


def test_a_record_read_again_replaces_its_stale_entries() -> None:
    ledger: OffsetLedger[str] = OffsetLedger()
    _started(ledger, 0, 20, 21)

    ledger.start(T, 0, 20, "again")

    assert ledger.items() == ["again"]
    assert not _done(ledger, 0, 20)  # the old handler's item is not the tracked one
    assert ledger.done(T, 0, 20, "again")
    assert commit_offsets(ledger.committable()) == {(T, 0): 21}
