"""The adapters read what the services wrote, read-only, in both ledger shapes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pizza_infra.scenarios.chaos.model import ChargeRow, NotificationRow, OrderRow
from pizza_infra.scenarios.chaos.observe import (
    read_charges,
    read_delivery_log,
    read_only,
    read_orders,
    unpublished_events,
)


def _database(path: Path, *statements: str) -> Path:
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)
    return path


def test_the_ledger_before_voids_existed(tmp_path: Path) -> None:
    path = _database(
        tmp_path / "payment.db",
        "CREATE TABLE payments (payment_id TEXT, order_id TEXT, status TEXT)",
        "INSERT INTO payments VALUES ('pay-1', 'o-1', 'approved'), ('pay-2', 'o-2', 'declined')",
    )
    assert read_charges(path) == [
        ChargeRow("pay-1", "o-1", "approved"),
        ChargeRow("pay-2", "o-2", "declined"),
    ]


def test_the_ledger_with_voids(tmp_path: Path) -> None:
    path = _database(
        tmp_path / "payment.db",
        "CREATE TABLE payments (payment_id TEXT, order_id TEXT, status TEXT, voided_at TEXT)",
        "INSERT INTO payments VALUES ('pay-1', 'o-1', 'approved', NULL),"
        " ('pay-2', 'o-2', 'voided', '2026-11-25 00:00:00')",
    )
    assert read_charges(path) == [
        ChargeRow("pay-1", "o-1", "approved"),
        ChargeRow("pay-2", "o-2", "voided", voided=True),
    ]


def test_orders_and_the_outbox(tmp_path: Path) -> None:
    path = _database(
        tmp_path / "order.db",
        "CREATE TABLE orders (order_id TEXT, status TEXT, payment_id TEXT)",
        "CREATE TABLE outbox (id INTEGER, published_at TEXT)",
        "INSERT INTO orders VALUES ('o-1', 'accepted', 'pay-1'), ('o-2', 'payment_pending', NULL)",
        "INSERT INTO outbox VALUES (1, '2026-11-25 00:00:00'), (2, NULL)",
    )
    assert read_orders(path) == [
        OrderRow("o-1", "accepted", "pay-1"),
        OrderRow("o-2", "payment_pending", None),
    ]
    assert unpublished_events(path) == 1


def test_databases_are_opened_read_only(tmp_path: Path) -> None:
    path = _database(tmp_path / "order.db", "CREATE TABLE orders (order_id TEXT)")
    with read_only(path) as db, pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("INSERT INTO orders VALUES ('o-1')")


def test_the_delivery_log_yields_notifications_and_deliveries(tmp_path: Path) -> None:
    lines = [
        {"event": "notification sent", "order_id": "o-1", "kind": "on_the_way"},
        {"event": "delivered", "order_id": "o-1", "driver": "driver-1"},
        {"event": "notification sent", "order_id": "o-1", "kind": "delivered"},
        {"event": "ready", "order_id": "o-2", "topic": "order.ready"},
    ]
    log = tmp_path / "delivery.log"
    text = "\n".join(json.dumps(line) for line in lines)
    log.write_text(f"{text}\nThread 0x01 (most recent call first):\n{{broken json\n")
    sent, delivered = read_delivery_log(log)
    assert sent == [NotificationRow("o-1", "on_the_way"), NotificationRow("o-1", "delivered")]
    assert delivered == ["o-1"]
    assert read_delivery_log(tmp_path / "missing.log") == ([], [])
