"""The board's Replay on the test broker: off by default and then refused with nothing
written; once on, refused without a dlq:replay token of the board's audience; with one,
the dead letter is back on its source topic with its key, value and headers and where it
was replayed from, and a reader of that topic sees it. Bad input is a clear 4xx.

The board runs in process as its own principal (reads) and writes replays as
dlq-replayer; tokens come from a small identity provider of the tests' own. Dead letters
go to ``order.ready.dlq`` under keys of this test only, and replay into ``order.ready``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from litestar.testing import TestClient

from board_svc.app import create_app
from board_svc.settings import BoardSettings
from pizza_common.contracts import DLQ_REPLAYER_PRINCIPAL, ORDER_READY, dead_letter_topic
from pizza_common.kafka import REPLAYED_FROM
from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import password
from tests.oauth_server import OAuthServer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("board_principal")]

DLQ = dead_letter_topic(ORDER_READY)
TRACEPARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(scope="module")
def idp() -> Iterator[OAuthServer]:
    server = OAuthServer().start()
    yield server
    server.stop()


def board(infra: InfraSettings, **settings: Any) -> TestClient[Any]:
    replayer = {
        "replay_sasl_username": DLQ_REPLAYER_PRINCIPAL,
        "replay_sasl_password": password(infra, DLQ_REPLAYER_PRINCIPAL),
    }
    app = create_app(BoardSettings(**{**replayer, **settings}))
    return TestClient(app, base_url="http://127.0.0.1:8000")


def dead_letter(admin: dict[str, Any], key: bytes) -> tuple[int, int]:
    """A dead letter as delivery writes one; its (partition, offset)."""
    producer = Producer({**admin, "acks": "all"})
    where: list[tuple[int, int]] = []

    def delivered(error: Any, message: Any) -> None:
        assert error is None, error
        where.append((message.partition(), message.offset()))

    producer.produce(
        DLQ,
        key=key,
        value=b"\x00\x00\x00\x00\x07not-avro",
        headers=[
            ("traceparent", TRACEPARENT),
            ("dlq.reason", b"invalid"),
            ("dlq.source.topic", ORDER_READY.encode()),
        ],
        on_delivery=delivered,
    )
    assert producer.flush(30) == 0
    (position,) = where
    return position


def ends(admin: dict[str, Any]) -> dict[int, int]:
    consumer = Consumer({**admin, "group.id": "replay-test-ends"})
    try:
        partitions = consumer.list_topics(ORDER_READY, timeout=10).topics[ORDER_READY].partitions
        return {
            p: consumer.get_watermark_offsets(TopicPartition(ORDER_READY, p), timeout=10)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def written_since(admin: dict[str, Any], since: dict[int, int]) -> list[Any]:
    """Every record of order.ready from ``since`` up to its end now, as a reader sees it."""
    now = ends(admin)
    wanted = sum(now[p] - since[p] for p in now)
    consumer = Consumer({**admin, "group.id": "replay-test-reader", "enable.auto.commit": False})
    found: list[Any] = []
    try:
        consumer.assign([TopicPartition(ORDER_READY, p, since[p]) for p in now])
        for _ in range(100):
            if len(found) >= wanted:
                break
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append(message)
    finally:
        consumer.close()
    return found


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def form(partition: int, offset: int) -> dict[str, str]:
    return {"partition": str(partition), "offset": str(offset)}


def test_the_board_is_read_only_by_default(
    infra: InfraSettings, admin: dict[str, Any], idp: OAuthServer
) -> None:
    partition, offset = dead_letter(admin, f"ro-{uuid.uuid4().hex}".encode())
    before = ends(admin)
    # Off, even for a token that carries the scope.
    token = idp.issuer.mint(scope="dlq:replay", aud="board")
    with board(infra, auth_issuer=idp.issuer.url) as client:
        answer = client.post(
            f"/topics/{DLQ}/replay", data=form(partition, offset), headers=bearer(token)
        )
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "read-only" in answer.json()["detail"]
        assert "BOARD_REPLAY_ENABLED" in answer.json()["detail"]
        page = client.get(f"/topics/{DLQ}")
    assert ends(admin) == before
    # The page shows each dead letter's Replay, unusable, and says why.
    html = page.text
    assert f'value="{partition}:{offset}"' in html
    button = html.split(f'value="{partition}:{offset}"')[1].split(">")[0]
    assert "disabled" in button
    assert "the board is read-only" in html
    assert 'id="replay-form"' not in html


def test_a_replay_needs_a_dlq_replay_token_for_the_board(
    infra: InfraSettings, admin: dict[str, Any], idp: OAuthServer
) -> None:
    partition, offset = dead_letter(admin, f"auth-{uuid.uuid4().hex}".encode())
    before = ends(admin)
    url = f"/topics/{DLQ}/replay"
    with board(infra, replay_enabled=True, auth_issuer=idp.issuer.url) as client:
        none = client.post(url, data=form(partition, offset))
        assert none.status_code == 401
        assert none.headers["www-authenticate"].startswith("Bearer")
        assert none.headers["content-type"].startswith("application/problem+json")
        forged = client.post(url, data=form(partition, offset), headers=bearer("not-a-jwt"))
        assert forged.status_code == 401
        other_audience = idp.issuer.mint(scope="dlq:replay")  # payment's
        assert (
            client.post(
                url, data=form(partition, offset), headers=bearer(other_audience)
            ).status_code
            == 401
        )
        no_scope = idp.issuer.mint(scope="orders:read", aud="board")
        refused = client.post(url, data=form(partition, offset), headers=bearer(no_scope))
        assert refused.status_code == 403
        assert "dlq:replay" in refused.json()["detail"]
        # The page's form carries the token in a field: the same checks.
        in_form = client.post(url, data={**form(partition, offset), "token": no_scope})
        assert in_form.status_code == 403
        page = client.get(f"/topics/{DLQ}")
    assert ends(admin) == before
    assert 'type="password"' in page.text  # where the operator gives the token


def test_a_replayed_dead_letter_is_back_on_its_source_topic_whole(
    infra: InfraSettings, admin: dict[str, Any], idp: OAuthServer
) -> None:
    key = f"replay-{uuid.uuid4().hex}".encode()
    partition, offset = dead_letter(admin, key)
    before = ends(admin)
    token = idp.issuer.mint(scope="dlq:replay", aud="board")
    with board(infra, replay_enabled=True, auth_issuer=idp.issuer.url) as client:
        answer = client.post(
            f"/topics/{DLQ}/replay", data=form(partition, offset), headers=bearer(token)
        )
    assert answer.status_code == 200, answer.text
    position = f"{DLQ}[{partition}]@{offset}"
    assert answer.json() == {"replayed": [{"from": position, "to": ORDER_READY}]}
    (record,) = written_since(admin, before)
    assert (record.key(), record.value()) == (key, b"\x00\x00\x00\x00\x07not-avro")
    assert record.headers() == [("traceparent", TRACEPARENT), (REPLAYED_FROM, position.encode())]


def test_with_tokens_off_replay_is_on_only_when_enabled_and_the_page_replays(
    infra: InfraSettings,
    admin: dict[str, Any],
) -> None:
    key = f"page-{uuid.uuid4().hex}".encode()
    partition, offset = dead_letter(admin, key)
    before = ends(admin)
    with board(infra, replay_enabled=True) as client:
        page = client.get(f"/topics/{DLQ}")
        assert 'id="replay-form"' in page.text
        assert 'type="password"' not in page.text  # no token to give while tokens are off
        # What the record's button sends, from the board's own page.
        answer = client.post(
            f"/topics/{DLQ}/replay",
            data={"position": f"{partition}:{offset}"},
            headers={"Accept": "text/html", "Origin": "http://127.0.0.1:8000"},
        )
        assert answer.status_code == 200, answer.text
        assert "1 dead letter(s) replayed" in answer.text
        # Another site's page cannot make a browser replay.
        across = client.post(
            f"/topics/{DLQ}/replay",
            data={"position": f"{partition}:{offset}"},
            headers={"Origin": "https://elsewhere.example"},
        )
        assert across.status_code == 403
    assert [m.key() for m in written_since(admin, before)] == [key]


def test_bad_input_is_a_clear_refusal_and_writes_nothing(
    infra: InfraSettings, admin: dict[str, Any]
) -> None:
    dead_letter(admin, f"bad-{uuid.uuid4().hex}".encode())
    before = ends(admin)
    with board(infra, replay_enabled=True) as client:

        def post(topic: str, **kwargs: Any) -> httpx.Response:
            return client.post(f"/topics/{topic}/replay", **kwargs)

        missing = post(DLQ, data=form(0, 10**12))
        assert missing.status_code == 404
        assert f"no dead letter at 0:{10**12}" in missing.json()["detail"]
        assert post(ORDER_READY, data=form(0, 0)).status_code == 404  # not a DLQ
        assert post("no.such.dlq", data=form(0, 0)).status_code == 404
        for bad in ({"partition": "x", "offset": "1"}, {"position": "3"}, {}, {"all": "yes"}):
            answer = post(DLQ, data=bad)
            assert answer.status_code == 422, bad
            assert answer.headers["content-type"].startswith("application/problem+json")
        assert (
            post(DLQ, content=b"{}", headers={"Content-Type": "application/json"}).status_code
            == 415
        )
        bad_bytes = {"Content-Type": "application/x-www-form-urlencoded"}
        assert post(DLQ, content=b"partition=\xff", headers=bad_bytes).status_code == 400
        assert post(DLQ, content=b"offset=1&offset=2", headers=bad_bytes).status_code == 400
    assert ends(admin) == before


def test_without_the_replayers_rights_kafka_refuses_and_nothing_is_written(
    infra: InfraSettings,
    admin: dict[str, Any],
) -> None:
    # The board's own principal may not write: a board not given dlq-replayer cannot replay.
    partition, offset = dead_letter(admin, f"acl-{uuid.uuid4().hex}".encode())
    before = ends(admin)
    with board(infra, replay_enabled=True, replay_sasl_username=None) as client:
        answer = client.post(f"/topics/{DLQ}/replay", data=form(partition, offset))
    assert answer.status_code == 503
    assert "replay failed" in answer.json()["detail"]
    assert ends(admin) == before
