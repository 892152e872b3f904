"""A schema registry that does not answer never holds up a customer's answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pizza_infra.config import InfraSettings
from tests.kitchen_svc.helpers import wait_until
from tests.order_svc.conftest import Payment, example_order, order_process

pytestmark = pytest.mark.integration


@pytest.fixture
def silent_registry() -> Iterator[str]:
    """A loopback port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/apis/ccompat/v7"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        server.close()


def test_orders_are_answered_while_the_relay_waits_on_the_registry(
    infra: InfraSettings, payment: Payment, tmp_path: Path, silent_registry: str
) -> None:
    order = order_process(infra, payment, tmp_path, SCHEMA_REGISTRY_URL=silent_registry).start()
    try:
        # The first accepted order wakes the relay, whose encode now waits on the
        # registry; orders placed meanwhile are answered within their 3 s budget.
        for _ in range(3):
            answer = httpx.post(f"{order.url}/orders", json=example_order(), timeout=5)
            assert answer.status_code == 201, answer.text
        # ... and are not lost: they wait in the outbox, counted (on its own beat).
        wait_until(
            lambda: "pizza_outbox_backlog 3.0" in httpx.get(f"{order.url}/metrics").text,
            30,
            "the backlog gauge to count the three waiting events",
        )
    finally:
        order.stop()
