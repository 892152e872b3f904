"""Kafka refuses whoever the ACL table (pizza_common.contracts.ACLS) does not allow.

On the test broker, with the services' users and ACLs applied as ``just infra-up`` does:
each principal tried at something it must not do, and the broker's refusal checked by its
error code.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from board_svc.kafka_admin import ClusterReader
from board_svc.record_reader import RecordReader
from pizza_common.contracts import (
    ACLS,
    KITCHEN_GROUP,
    KITCHEN_TRANSACTIONAL_ID_PREFIX,
    ORDER_PLACED,
    ORDER_READY,
    Grant,
)
from pizza_common.kafka import connection_config
from pizza_infra.admin.access import apply_access, apply_acls, binding
from pizza_infra.admin.lag import consumer_lag
from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import admin_config, service_settings

pytestmark = pytest.mark.integration

QUIET = 0  # librdkafka's own log: the refusals below are expected


def as_service(infra: InfraSettings, service: str, **overrides: Any) -> dict[str, Any]:
    return {**connection_config(service_settings(infra, service)), "log_level": QUIET, **overrides}


def anonymous(infra: InfraSettings, **overrides: Any) -> dict[str, Any]:
    """No SASL at all: what any process on the machine could try."""
    return {"bootstrap.servers": infra.bootstrap_servers, "log_level": QUIET, **overrides}


def wrong_password(infra: InfraSettings, **overrides: Any) -> dict[str, Any]:
    kitchen = service_settings(infra, "kitchen")
    guessed = kitchen.model_copy(update={"kafka_sasl_password": SecretStr("guessed")})
    return {**connection_config(guessed), "log_level": QUIET, **overrides}


def produce_error(config: dict[str, Any], topic: str) -> KafkaError | None:
    """Produce one record; the error its delivery report carries (None: written)."""
    producer = Producer({**config, "message.timeout.ms": 5000, "linger.ms": 0})
    outcome: list[KafkaError | None] = []

    def delivered(error: KafkaError | None, _message: Message) -> None:
        outcome.append(error)

    producer.produce(topic, key=b"forged", value=b"forged", on_delivery=delivered)
    producer.flush(15)
    assert len(outcome) == 1
    return outcome[0]


def consume_error(consumer: Consumer, timeout_s: float = 15) -> KafkaError:
    """The first error a poll returns; fails if a record is read or nothing comes."""
    for _ in range(int(timeout_s / 0.5)):
        message = consumer.poll(0.5)
        if message is None:
            continue
        error = message.error()
        assert error is not None, f"read a record of {message.topic()}"
        return error
    raise AssertionError("no error reported")


def fetch_errors(config: dict[str, Any], topic: str, timeout_s: float = 15) -> set[int]:
    """Fetch partition 0 from the beginning, assigned, not subscribed (librdkafka wants a
    group id all the same, and reports that the group is refused too). The error codes
    until the topic's own answer came; fails if a record is read."""
    consumer = Consumer({**config, "group.id": "test-reader", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    codes: set[int] = set()
    try:
        for _ in range(int(timeout_s / 0.5)):
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            assert error is not None, f"read a record of {message.topic()}"
            codes.add(error.code())
            if error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                break
    finally:
        consumer.close()
    return codes


def test_kitchen_cannot_forge_a_placed_order(infra: InfraSettings) -> None:
    error = produce_error(as_service(infra, "kitchen"), ORDER_PLACED)
    assert error is not None
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert produce_error(as_service(infra, "order"), ORDER_PLACED) is None


def test_only_kitchen_says_an_order_is_ready(infra: InfraSettings) -> None:
    for service in ("order", "delivery", "monitor"):
        error = produce_error(as_service(infra, service), ORDER_READY)
        assert error is not None
        assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_kitchen_transactions_only_under_its_prefix(infra: InfraSettings) -> None:
    own = Producer(
        as_service(
            infra, "kitchen", **{"transactional.id": f"{KITCHEN_TRANSACTIONAL_ID_PREFIX}test"}
        )
    )
    own.init_transactions(30)
    own.begin_transaction()
    own.produce(ORDER_READY, key=b"k", value=b"v")
    own.commit_transaction(30)

    foreign = Producer(as_service(infra, "kitchen", **{"transactional.id": "someone-else"}))
    with pytest.raises(KafkaException) as refused:
        foreign.init_transactions(30)
    assert refused.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED


def test_delivery_cannot_join_the_kitchen_group(infra: InfraSettings) -> None:
    consumer = Consumer(
        as_service(
            infra, "delivery", **{"group.id": KITCHEN_GROUP, "auto.offset.reset": "earliest"}
        )
    )
    consumer.subscribe([ORDER_PLACED])
    try:
        assert consume_error(consumer).code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    finally:
        consumer.close()


def test_order_cannot_read_what_it_writes(infra: InfraSettings) -> None:
    assert KafkaError.TOPIC_AUTHORIZATION_FAILED in fetch_errors(
        as_service(infra, "order"), ORDER_PLACED
    )


def test_lag_exporter_describes_lag_but_reads_no_record(infra: InfraSettings) -> None:
    assert produce_error(admin_config(infra), ORDER_READY) is None  # something to lag behind
    rows = consumer_lag(as_service(infra, "monitor"))
    assert {(row.group, row.topic) for row in rows} >= {("delivery", ORDER_READY)}
    assert all(row.end >= 0 for row in rows)

    refused = fetch_errors(as_service(infra, "monitor"), ORDER_READY)
    assert KafkaError.TOPIC_AUTHORIZATION_FAILED in refused


@pytest.mark.parametrize("client", [anonymous, wrong_password], ids=["no-sasl", "wrong-password"])
def test_an_unknown_client_can_do_nothing(infra: InfraSettings, client: Any) -> None:
    with pytest.raises(KafkaException):
        AdminClient(client(infra)).list_topics(timeout=5)
    assert produce_error(client(infra), ORDER_PLACED) is not None
    consumer = Consumer(client(infra, **{"group.id": KITCHEN_GROUP}))
    consumer.subscribe([ORDER_PLACED])
    try:
        for _ in range(10):  # 5 s: an error or nothing, never a record
            message = consumer.poll(0.5)
            assert message is None or message.error() is not None
    finally:
        consumer.close()


def test_acls_are_applied_as_declared(infra: InfraSettings) -> None:
    admin = AdminClient(admin_config(infra))
    assert apply_acls(admin) == []  # already so: nothing to do
    stray = Grant("order-svc", "READ", "TOPIC", ORDER_PLACED)
    assert stray not in ACLS
    for future in admin.create_acls([binding(stray)]).values():
        future.result()
    assert apply_acls(admin) == [f"revoked {binding(stray)}"]
    assert apply_access(infra) == []


def test_board_reads_records_and_offsets_but_writes_and_joins_nothing(
    infra: InfraSettings,
) -> None:
    assert produce_error(admin_config(infra), ORDER_READY) is None  # a record to read
    # A group with a committed offset, for the board to describe.
    committer = Consumer(admin_config(infra, **{"group.id": "board-acl-test"}))
    try:
        for attempt in range(60):  # the group's coordinator may still be loading
            try:
                committer.commit(offsets=[TopicPartition(ORDER_READY, 0, 0)], asynchronous=False)
                break
            except KafkaException:
                if attempt == 59:
                    raise
                time.sleep(0.5)
    finally:
        committer.close()

    board = service_settings(infra, "board")
    snapshot = asyncio.run(ClusterReader(board, cache_seconds=1).snapshot())
    assert snapshot.error is None
    assert ORDER_READY in snapshot.topics
    assert snapshot.groups["board-acl-test"].committed == {(ORDER_READY, 0): 0}
    assert asyncio.run(ClusterReader(board, cache_seconds=1).topic_configs(ORDER_READY))
    fullest = max(snapshot.topics[ORDER_READY].partitions, key=lambda p: p.retained)
    assert fullest.retained >= 1
    # Its record reader holds no READ on any group, and needs none.
    ranges = [(fullest.partition, fullest.start, fullest.end)]
    assert RecordReader(board).read(ORDER_READY, ranges)

    error = produce_error(as_service(infra, "board"), ORDER_READY)
    assert error is not None
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    consumer = Consumer(
        as_service(infra, "board", **{"group.id": KITCHEN_GROUP, "auto.offset.reset": "earliest"})
    )
    consumer.subscribe([ORDER_PLACED])
    try:
        assert consume_error(consumer).code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    finally:
        consumer.close()
