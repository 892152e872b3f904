"""The payment saga against real order_svc and payment_svc processes: no order stays
unsettled, no charge without an accepted order (or a void), no accepted order without
a charge; and a saturated order_svc sheds load at once."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pizza_common.kafka import KafkaSettings
from pizza_infra.config import InfraSettings
from tests.order_svc.conftest import Payment, example_order, order_process, read_order
from tests.order_svc.integration.test_order_flow import PATIENCE, events_for, post_order
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.integration

# The recovery worker looks at orders unchanged for 1 s, twice a second.
FAST_RECOVERY = {"ORDER_RECOVERY_AFTER_S": "1", "ORDER_RECOVERY_INTERVAL_S": "0.5"}
# Longer than the order's 3 s deadline: payment decides after order_svc gave up.
LATE = {"min": 4500, "max": 4500}


def wait_until(what: str, check: Callable[[], Any], timeout_s: float = 45) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def order_state(order: ServiceProcess, order_id: str) -> dict[str, Any]:
    answer = read_order(order, order_id)
    assert answer.status_code == 200, answer.text
    state: dict[str, Any] = answer.json()
    return state


def orders_in_db(tmp_path: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(tmp_path / "order" / "data" / "order_svc.db") as conn:
        conn.row_factory = sqlite3.Row
        return {row["order_id"]: dict(row) for row in conn.execute("SELECT * FROM orders")}


def ledger(payment: Payment) -> list[dict[str, Any]]:
    with sqlite3.connect(Path(payment.env["PIZZA_VAR_DIR"]) / "data" / "payment_svc.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM payments")]


def assert_saga_closed(orders: dict[str, dict[str, Any]], payments: list[dict[str, Any]]) -> None:
    """Every order is settled; every live charge belongs to an accepted order; every
    accepted order has its charge; a cancelled order keeps no charge."""
    unsettled = [
        o for o in orders.values() if o["status"] in {"payment_pending", "payment_unavailable"}
    ]
    assert unsettled == []
    live = {p["order_id"]: p for p in payments if p["status"] == "approved"}
    for order_id, payment in live.items():
        assert orders[order_id]["status"] == "accepted", (order_id, orders[order_id])
        assert orders[order_id]["payment_id"] == payment["payment_id"]
    for order in orders.values():
        if order["status"] == "accepted":
            assert order["order_id"] in live, order
        if order["status"] == "cancelled" and order["payment_id"]:
            [voided] = [p for p in payments if p["payment_id"] == order["payment_id"]]
            assert voided["status"] == "voided"


def test_a_charge_approved_after_order_svc_gave_up_ends_accepted_and_published(
    infra: InfraSettings, payment: Payment, tmp_path: Path, kafka_settings: KafkaSettings
) -> None:
    payment.simulate(latency_ms=LATE)
    order = order_process(infra, payment, tmp_path, **FAST_RECOVERY).start()
    try:
        answer = post_order(order)
        assert answer.status_code == 503, answer.text
        problem = answer.json()
        order_id = problem["order_id"]
        assert "could not confirm your payment yet" in problem["detail"]

        state = wait_until(
            "accepted",
            lambda: (s := order_state(order, order_id))["status"] == "accepted" and s,
        )
        assert state["payment"]["outcome"] == "approved"
        assert len(events_for(kafka_settings, order_id)) == 1
        assert payment.charges() == {order_id: 1}
        assert_saga_closed(orders_in_db(tmp_path), ledger(payment))
    finally:
        order.stop()


def test_a_claim_left_by_a_dead_payment_instance_is_taken_over_and_the_order_ends(
    infra: InfraSettings, payment: Payment, tmp_path: Path
) -> None:
    # The request claims the key, then takes longer than order_svc's deadline.
    payment.simulate(latency_ms=LATE)
    # The worker looks only past the customer's 3 s deadline, as by default (30 s).
    recovery = {**FAST_RECOVERY, "ORDER_RECOVERY_AFTER_S": "4"}
    order = order_process(infra, payment, tmp_path, **recovery).start()
    try:
        answer = post_order(order)
        assert answer.status_code == 503, answer.text
        order_id = answer.json()["order_id"]

        payment.kill()  # before it decides: its claim stays "in progress" in the ledger
        payment.env["PAYMENT_STALE_CLAIM_S"] = "2"
        payment.start()
        payment.simulate(latency_ms={"min": 0, "max": 0})

        state = wait_until(
            "cancelled",
            lambda: (s := order_state(order, order_id))["status"] == "cancelled" and s,
        )
        assert state["payment"]["outcome"] == "not_charged"
        assert payment.charges() == {}
        assert_saga_closed(orders_in_db(tmp_path), ledger(payment))
    finally:
        order.stop()


def test_a_charge_too_late_to_accept_is_voided_and_the_void_is_idempotent(
    infra: InfraSettings, payment: Payment, tmp_path: Path, kafka_settings: KafkaSettings
) -> None:
    payment.simulate(latency_ms=LATE)
    # Any charge found after the deadline is too late here: the order cannot be accepted.
    order = order_process(
        infra, payment, tmp_path, ORDER_RECOVERY_ACCEPT_WITHIN_S="0", **FAST_RECOVERY
    ).start()
    try:
        answer = post_order(order)
        assert answer.status_code == 503, answer.text
        order_id = answer.json()["order_id"]

        state = wait_until(
            "cancelled",
            lambda: (s := order_state(order, order_id))["status"] == "cancelled" and s,
        )
        assert state["payment"]["outcome"] == "voided"
        [charge] = ledger(payment)
        assert (charge["payment_id"], charge["status"]) == (
            state["payment"]["payment_id"],
            "voided",
        )
        assert charge["void_reason"] == "order_too_old_to_accept"
        assert events_for(kafka_settings, order_id, wait=False) == []
        assert_saga_closed(orders_in_db(tmp_path), ledger(payment))

        key = f"order-{order_id}"
        again = httpx.post(f"{payment.url}/payments/by-key/{key}/void", timeout=5)
        assert again.status_code == 200
        assert again.json()["payment"]["voided_at"] is not None
        assert ledger(payment) == [charge]  # voiding again changes nothing
    finally:
        order.stop()


async def test_killed_with_requests_in_flight_every_order_is_settled_after_restart(
    infra: InfraSettings, payment: Payment, tmp_path: Path
) -> None:
    payment.simulate(latency_ms={"min": 1000, "max": 2500})
    first = order_process(infra, payment, tmp_path).start()
    async with httpx.AsyncClient(base_url=first.url, timeout=PATIENCE) as client:
        in_flight = [
            asyncio.create_task(client.post("/orders", json=example_order())) for _ in range(20)
        ]
        for _ in range(100):  # until most are saved and waiting for payment
            pending = [
                o for o in orders_in_db(tmp_path).values() if o["status"] == "payment_pending"
            ]
            if len(pending) >= 15:
                break
            await asyncio.sleep(0.1)
        first.kill()  # SIGKILL, with requests in flight and no Idempotency-Key
        await asyncio.gather(*in_flight, return_exceptions=True)

    await asyncio.sleep(3)  # payment finishes what it was doing
    left = [o for o in orders_in_db(tmp_path).values() if o["status"] == "payment_pending"]
    assert left, "the kill came too late to leave any order unsettled"

    restarted = order_process(infra, payment, tmp_path, **FAST_RECOVERY).start()
    try:
        wait_until(
            "every order settled",
            lambda: all(
                o["status"] not in {"payment_pending", "payment_unavailable"}
                for o in orders_in_db(tmp_path).values()
            ),
        )
        assert_saga_closed(orders_in_db(tmp_path), ledger(payment))
        charged = {p["order_id"] for p in ledger(payment) if p["status"] == "approved"}
        for order in left:
            state = order_state(restarted, order["order_id"])
            assert state["status"] == ("accepted" if order["order_id"] in charged else "cancelled")
    finally:
        restarted.stop()


async def test_a_saturated_order_svc_sheds_load_at_once(
    infra: InfraSettings, payment: Payment, tmp_path: Path
) -> None:
    payment.simulate(latency_ms={"min": 2000, "max": 2000})
    order = order_process(infra, payment, tmp_path, ORDER_ADMISSION_LIMIT="2").start()
    try:
        async with httpx.AsyncClient(base_url=order.url, timeout=PATIENCE) as client:
            admitted = [
                asyncio.create_task(client.post("/orders", json=example_order())) for _ in range(2)
            ]
            await asyncio.sleep(0.7)  # both are waiting for payment now
            shed = await client.post(
                "/orders", json=example_order(), headers={"Accept-Language": "de"}
            )
            # Answered while the two admitted ones still wait for payment: not queued.
            assert not any(task.done() for task in admitted)
            answers = await asyncio.gather(*admitted)
        assert shed.status_code == 503, shed.text
        assert shed.headers["Retry-After"] == "1"
        assert "zu viele Bestellungen" in shed.json()["detail"]
        assert [a.status_code for a in answers] == [201, 201]
        assert len(orders_in_db(tmp_path)) == 2  # the shed one left nothing behind
        assert len(payment.charges()) == 2
    finally:
        order.stop()
