"""Which dead letters a replay sends where, and with what: pure, no Kafka."""

from __future__ import annotations

import pytest

from pizza_infra.admin.dlq import (
    REPLAYED_FROM,
    DeadLetter,
    check_topic,
    choose,
    dlq_topics,
    parse_positions,
)
from pizza_infra.config import InfraError


def _letter(offset: int = 4, partition: int = 1, **headers: bytes) -> DeadLetter:
    return DeadLetter(
        topic="order.ready.dlq",
        partition=partition,
        offset=offset,
        key=b"order-42",
        value=b"\x00\x00\x00\x00\x02body",
        headers=(
            ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            ("dlq.reason", b"invalid"),
            ("dlq.source.topic", b"order.ready"),
            *headers.items(),
        ),
    )


def test_a_dead_letter_goes_back_to_its_source_with_its_own_headers() -> None:
    letter = _letter()
    assert (letter.source_topic, letter.reason) == ("order.ready", "invalid")
    assert letter.replay_headers() == (
        ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        (REPLAYED_FROM, b"order.ready.dlq[1]@4"),
    )


def test_without_a_source_header_the_source_is_the_topic_without_dlq() -> None:
    bare = DeadLetter("order.placed.dlq", 0, 0, None, None, ())
    assert (bare.source_topic, bare.reason) == ("order.placed", "?")


def test_only_dead_letter_topics_are_replayed_from() -> None:
    assert dlq_topics() == ["order.placed.dlq", "order.ready.dlq"]
    check_topic("order.placed.dlq")
    with pytest.raises(InfraError, match="not a dead-letter topic"):
        check_topic("order.placed")


def test_positions_are_partition_and_offset() -> None:
    assert parse_positions(["0:12", "3:4", "0:12"]) == {(0, 12), (3, 4)}
    with pytest.raises(InfraError, match="<partition>:<offset>"):
        parse_positions(["12"])


def test_only_what_is_named_is_replayed_and_a_missing_one_is_an_error() -> None:
    letters = [_letter(4), _letter(5), _letter(2, partition=0)]
    assert choose(letters, {(1, 5)}, everything=False) == [letters[1]]
    assert choose(letters, set(), everything=False) == []
    assert choose(letters, set(), everything=True) == letters
    with pytest.raises(InfraError, match="no dead letter at 1:9"):
        choose(letters, {(1, 9)}, everything=False)
