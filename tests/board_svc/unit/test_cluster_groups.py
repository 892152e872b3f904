"""A group that cannot be described now (its coordinator moved with a broker restart)
leaves the board's cluster reading whole, and a new admin client finds the coordinator."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from board_svc.kafka_admin import ClusterReader
from pizza_common.kafka import KafkaSettings


def _done(value: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


def _failed(code: int) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(KafkaException(KafkaError(code)))
    return future


class CoordinatorMoved:
    """An admin client whose view of group kitchen's coordinator is out of date."""

    def list_consumer_groups(self, **_: Any) -> Future[Any]:
        groups = [SimpleNamespace(group_id=name) for name in ("delivery", "kitchen")]
        return _done(SimpleNamespace(valid=groups))

    def describe_consumer_groups(self, ids: list[str], **_: Any) -> dict[str, Future[Any]]:
        stable = SimpleNamespace(state=SimpleNamespace(name="STABLE"), members=[])
        return {
            "delivery": _done(stable),
            "kitchen": _failed(KafkaError.NOT_COORDINATOR),
        }

    def list_consumer_group_offsets(self, requests: list[Any], **_: Any) -> dict[str, Any]:
        group = requests[0].group_id
        return {group: _done(SimpleNamespace(topic_partitions=[]))}

    def poll(self, _timeout: float) -> int:
        return 0


async def test_an_undescribed_group_says_why_and_the_next_reading_uses_a_new_client() -> None:
    reader = ClusterReader(KafkaSettings(kafka_bootstrap_servers="127.0.0.1:9"), 0.0)
    stale: Any = CoordinatorMoved()
    reader._admin = stale

    groups = reader._read_groups()

    assert groups["delivery"].state == "STABLE"
    assert groups["kitchen"].state == "unknown (NOT_COORDINATOR)"
    assert groups["kitchen"].members == ()
    await reader._in_thread(lambda: None)
    assert reader._admin is not stale
    reader.close()
