"""Topic sizes from DescribeLogDirs' answer: leader replicas summed, every replica on disk,
unknown with a reason; bytes in binary units; the connection settings kafka-python gets."""

from __future__ import annotations

import pytest
from kafka.admin import KafkaAdminClient
from pydantic import SecretStr

from board_svc.cluster import ClusterSnapshot, PartitionState, TopicState
from board_svc.log_dirs import client_config
from board_svc.rendering import ENVIRONMENT
from board_svc.topic_size import (
    BrokerLogDirs,
    LogDir,
    LogDirsReading,
    LogDirsRefused,
    human_bytes,
    replicas_of,
    topic_sizes,
)
from pizza_common.kafka import KafkaSettings


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (150 * 1024, "150 KiB"),
        (1024 * 1024 - 1, "1.0 MiB"),  # not 1024 KiB
        (5 * 1024**3 + 512 * 1024**2, "5.5 GiB"),
        (3 * 1024**4, "3.0 TiB"),
        (2000 * 1024**5, "2000 PiB"),  # the largest unit goes on counting
    ],
)
def test_bytes_in_binary_units(size: int, shown: str) -> None:
    assert human_bytes(size) == shown


def _partition(number: int, leader: int, replicas: tuple[int, ...]) -> PartitionState:
    return PartitionState(number, leader, replicas, replicas, start=0, end=10)


SNAPSHOT = ClusterSnapshot(
    taken_at=100.0,
    topics={
        "order.placed": TopicState(
            "order.placed", (_partition(0, 1, (1, 2)), _partition(1, 2, (2, 3)))
        ),
        "empty": TopicState("empty", (_partition(0, 3, (3, 1)),)),
    },
    groups={},
)


def _dir(path: str, *topics: tuple[str, dict[int, int]], error: int = 0) -> LogDir:
    return {
        "error_code": error,
        "log_dir": path,
        "topics": [
            {
                "name": name,
                "partitions": [
                    {"partition_index": p, "partition_size": size, "is_future_key": False}
                    for p, size in sizes.items()
                ],
            }
            for name, sizes in topics
        ],
    }


# Three brokers, broker 2 with two log directories; each partition on two of them.
ANSWER: list[BrokerLogDirs] = [
    {"broker": 1, "log_dirs": [_dir("/a", ("order.placed", {0: 1000}), ("empty", {0: 0}))]},
    {
        "broker": 2,
        "log_dirs": [
            _dir("/b1", ("order.placed", {0: 990})),
            _dir("/b2", ("order.placed", {1: 500})),
        ],
    },
    {"broker": 3, "log_dirs": [_dir("/c", ("order.placed", {1: 520}), ("empty", {0: 0}))]},
]


def _reading(answer: list[BrokerLogDirs]) -> LogDirsReading:
    replicas, failed = replicas_of(answer)
    return LogDirsReading(100.0, replicas, failed_dirs=failed)


def test_a_topic_is_its_leader_replicas_summed_and_on_disk_every_replica() -> None:
    sizes = topic_sizes(SNAPSHOT, _reading(ANSWER))
    placed = sizes["order.placed"]
    # Partition 0's leader is broker 1 (1000), partition 1's broker 2 (500, in /b2).
    assert [(p.partition, p.leader_bytes, p.on_disk) for p in placed.partitions] == [
        (0, 1000, 1990),
        (1, 500, 1020),
    ]
    assert (placed.bytes, placed.on_disk, placed.unknown) == (1500, 3010, None)
    assert (sizes["empty"].bytes, sizes["empty"].on_disk) == (0, 0)


def test_a_copy_moving_between_log_directories_is_on_disk_but_not_the_leader() -> None:
    future = _dir("/a2", ("order.placed", {0: 300}))
    future["topics"][0]["partitions"][0]["is_future_key"] = True
    moving: list[BrokerLogDirs] = [*ANSWER[:2], {"broker": 1, "log_dirs": [future]}]
    placed = topic_sizes(SNAPSHOT, _reading(moving))["order.placed"].partitions[0]
    assert (placed.leader_bytes, placed.on_disk) == (1000, 2290)


def test_a_partition_whose_leader_is_not_reported_makes_its_topic_unknown() -> None:
    # Broker 2's second log directory is offline: partition 1's leader replica is missing.
    offline: list[BrokerLogDirs] = [
        ANSWER[0],
        {"broker": 2, "log_dirs": [ANSWER[1]["log_dirs"][0], _dir("/b2", error=56)]},
        ANSWER[2],
    ]
    placed = topic_sizes(SNAPSHOT, _reading(offline))["order.placed"]
    assert placed.partitions[0].leader_bytes == 1000
    assert placed.partitions[1].leader_bytes is None
    assert placed.bytes is None
    assert placed.on_disk is None
    assert placed.unknown is not None
    assert placed.unknown.startswith("partition 1: the leader's replica (broker 2)")
    assert "broker 2: /b2 (error 56)" in placed.unknown


def test_a_broker_listing_no_log_directory_refused() -> None:
    with pytest.raises(LogDirsRefused, match="DESCRIBE on the cluster"):
        replicas_of([ANSWER[0], {"broker": 2, "log_dirs": []}])


def test_a_failed_reading_leaves_every_size_unknown_with_its_reason() -> None:
    sizes = topic_sizes(SNAPSHOT, LogDirsReading(100.0, error="no answer within 5 s"))
    assert {name: size.unknown for name, size in sizes.items()} == {
        "order.placed": "no answer within 5 s",
        "empty": "no answer within 5 s",
    }
    assert all(p.unknown for size in sizes.values() for p in size.partitions)


def test_an_unknown_size_is_said_so_with_its_reason_in_the_tooltip() -> None:
    macro = ENVIRONMENT.get_template("_size.html").module.size  # type: ignore[attr-defined]
    assert str(macro(1536, None)) == '<span title="1,536 bytes">1.5 KiB</span>'
    unknown = str(macro(None, "refused <CLUSTER>"))
    assert 'title="refused &lt;CLUSTER&gt;"' in unknown
    assert ">size unknown<" in unknown


def test_kafka_python_connects_as_the_board_s_other_clients() -> None:
    scram = KafkaSettings(
        kafka_bootstrap_servers="a:9092, b:9092",
        kafka_sasl_username="board",
        kafka_sasl_password=SecretStr("s3cret"),
    )
    assert client_config(scram, client_id="x", timeout_s=2.5) == {
        "bootstrap_servers": ["a:9092", "b:9092"],
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "board",
        "sasl_plain_password": "s3cret",
        "client_id": "x",
        "request_timeout_ms": 2500,
        "bootstrap_timeout_ms": 2500,
    }
    assert set(KafkaAdminClient.DEFAULT_CONFIG) >= set(
        client_config(scram, client_id="x", timeout_s=1)
    )
    plain = client_config(
        KafkaSettings(kafka_bootstrap_servers="a:9092"), client_id="x", timeout_s=1
    )
    assert "security_protocol" not in plain
    assert "sasl_plain_username" not in plain
