"""Topic sizes on the test broker: DescribeLogDirs as the board's principal reports at least
the bytes written to a fresh topic and nothing for an empty one, the topics page shows
them, and without DESCRIBE on the cluster the pages still answer, saying "size unknown"
and why.

Each test writes to topics of its own, created and deleted here; the board runs in process
as its own principal."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AclBindingFilter, AdminClient, NewTopic
from litestar.testing import TestClient

from board_svc.app import create_app
from board_svc.kafka_admin import ClusterReader
from board_svc.log_dirs import LogDirsClient, LogDirsUnavailable
from board_svc.settings import BoardSettings
from board_svc.topic_size import topic_sizes
from pizza_common.contracts import ACLS, BOARD_PRINCIPAL
from pizza_infra.admin.access import apply_acls, binding
from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import service_settings

pytestmark = pytest.mark.integration

RECORDS = 200
VALUE = b"x" * 1000
(CLUSTER_GRANT,) = (g for g in ACLS if g.principal == BOARD_PRINCIPAL and g.resource == "CLUSTER")


@pytest.fixture
def topics(admin: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """A topic of two partitions with ``RECORDS`` records written, and an empty one."""
    full, empty = (f"size-test-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("full", "empty"))
    client = AdminClient(admin)
    created = client.create_topics([NewTopic(t, 2, 1) for t in (full, empty)])
    for future in created.values():
        future.result()
    try:
        yield full, empty
    finally:
        for future in client.delete_topics([full, empty]).values():
            future.result()


def write(admin: dict[str, Any], topic: str) -> int:
    """``RECORDS`` uncompressed records over both partitions; the bytes of their keys and
    values."""
    producer = Producer({**admin, "acks": "all", "compression.type": "none"})
    written = 0
    for number in range(RECORDS):
        key = f"key-{number}".encode()
        producer.produce(topic, key=key, value=VALUE, partition=number % 2)
        written += len(key) + len(VALUE)
    assert producer.flush(30) == 0
    return written


def size_cell(html: str, topic: str) -> str:
    row = html.split(f'<tr data-topic="{topic}">')[1].split("</tr>")[0]
    match = re.search(r'<td class="num size">(.*?)</td>', row)
    assert match is not None, row
    return match.group(1)


def test_the_adapter_reports_at_least_the_bytes_written(
    infra: InfraSettings, admin: dict[str, Any], topics: tuple[str, str]
) -> None:
    full, empty = topics
    written = write(admin, full)
    board = service_settings(infra, "board")
    snapshot = asyncio.run(ClusterReader(board, cache_seconds=1).snapshot())
    client = LogDirsClient(board, client_id="size-test", timeout_s=10)
    try:
        reading = client.read({full: [0, 1], empty: [0, 1]})
    finally:
        client.close()
    assert reading.error is None
    sizes = topic_sizes(snapshot, reading)
    size = sizes[full].bytes
    assert size is not None
    assert size >= written
    assert sizes[full].on_disk == size  # one node: one replica each
    assert all((p.leader_bytes or 0) >= written / 2 for p in sizes[full].partitions)
    assert sizes[empty].bytes == 0


def test_the_topics_page_shows_each_topic_s_size(
    infra: InfraSettings, admin: dict[str, Any], topics: tuple[str, str], board_principal: None
) -> None:
    full, empty = topics
    written = write(admin, full)
    with TestClient(create_app(BoardSettings()), base_url="http://127.0.0.1:8000") as client:
        page = client.get("/topics")
        assert page.status_code == 200
        shown = size_cell(page.text, full)
        exact = re.search(r'title="([\d,]+) bytes">([\d.]+ KiB)<', shown)
        assert exact is not None, shown
        assert int(exact.group(1).replace(",", "")) >= written
        assert size_cell(page.text, empty) == '<span title="0 bytes">0 B</span>'
        one = client.get(f"/topics/{full}")
        assert one.status_code == 200
        sizes = re.findall(
            r'<tr data-partition="(\d)">.*?<td class="num size"><span title="([\d,]+) bytes"',
            one.text,
        )
        assert [p for p, _ in sizes] == ["0", "1"]
        assert sum(int(b.replace(",", "")) for _, b in sizes) >= written


def test_without_describe_on_the_cluster_the_size_is_unknown_and_the_pages_answer(
    infra: InfraSettings, admin: dict[str, Any], topics: tuple[str, str], board_principal: None
) -> None:
    """The board's own principal with that one grant revoked (and given back after)."""
    full, _ = topics
    write(admin, full)
    client = AdminClient(admin)
    grant = binding(CLUSTER_GRANT)
    revoke = AclBindingFilter(
        grant.restype,
        grant.name,
        grant.resource_pattern_type,
        grant.principal,
        grant.host,
        grant.operation,
        grant.permission_type,
    )
    for future in client.delete_acls([revoke]).values():
        future.result()
    try:
        refused(infra, full)
        with TestClient(create_app(BoardSettings()), base_url="http://127.0.0.1:8000") as board:
            page = board.get("/topics")
            one = board.get(f"/topics/{full}")
    finally:
        apply_acls(client)
    assert page.status_code == 200
    shown = size_cell(page.text, full)
    assert ">size unknown<" in shown
    assert "DESCRIBE on the cluster" in shown  # the reason, in its tooltip
    assert one.status_code == 200
    assert one.text.count(">size unknown<") == 2 * 3  # size and on disk: 2 partitions, the topic


def refused(infra: InfraSettings, topic: str) -> None:
    """Wait for the brokers to apply the revocation (they learn ACLs from the metadata log)."""
    client = LogDirsClient(service_settings(infra, "board"), client_id="size-test", timeout_s=10)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                client.read({topic: [0]})
            except LogDirsUnavailable:
                return
            assert time.monotonic() < deadline, "still allowed"
            time.sleep(0.2)
    finally:
        client.close()
