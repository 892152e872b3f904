"""A burst of concurrent orders against real order_svc and payment_svc processes: the
answers by status and the latency percentiles. It measures; it asserts nothing.

    python -m tests.order_svc.burst --orders 200 --error-rate 0.3

Kafka and the registry come from the test infra (``PIZZA_TEST_VAR_DIR`` keeps them
between runs); payment and order run as processes of their own on free ports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from pizza_infra.servers import stack
from tests.conftest import _test_settings, infra_env
from tests.order_svc.conftest import example_order
from tests.service_process import ServiceProcess, free_port


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def burst(url: str, orders: int) -> list[tuple[int, float]]:
    limits = httpx.Limits(max_connections=orders, max_keepalive_connections=orders)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def one() -> tuple[int, float]:
            started = time.perf_counter()
            answer = await client.post("/orders", json=example_order())
            return answer.status_code, time.perf_counter() - started

        return await asyncio.gather(*(one() for _ in range(orders)))


def ledgers(folder: Path) -> dict[str, int]:
    """Orders by status, and approved charges whose order is not accepted, from each
    service's own database."""
    with sqlite3.connect(folder / "order" / "data" / "order_svc.db") as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM orders GROUP BY status"))
        accepted = {
            row[0] for row in conn.execute("SELECT order_id FROM orders WHERE status = 'accepted'")
        }
    with sqlite3.connect(folder / "payment" / "data" / "payment_svc.db") as conn:
        charged = {
            row[0]
            for row in conn.execute("SELECT order_id FROM payments WHERE status = 'approved'")
        }
    return {
        **statuses,
        "charged_not_accepted": len(charged - accepted),
        "accepted_not_charged": len(accepted - charged),
    }


def summary(results: list[tuple[int, float]]) -> dict[str, Any]:
    seconds = [s for _, s in results]
    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "statuses": dict(sorted(statuses.items())),
        "p50_ms": round(percentile(seconds, 0.50) * 1000),
        "p99_ms": round(percentile(seconds, 0.99) * 1000),
        "max_ms": round(max(seconds) * 1000),
        "over_3s": sum(1 for s in seconds if s > 3.0),
        **{
            f"p99_ms_{status}": round(
                percentile([s for c, s in results if c == status], 0.99) * 1000
            )
            for status in statuses
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="ORDER_ADMISSION_LIMIT, if set")
    parser.add_argument(
        "--settle", type=float, default=45.0, help="seconds to wait before reading the ledgers"
    )
    args = parser.parse_args()

    # The tests' infra (PIZZA_TEST_VAR_DIR, PIZZA_TEST_PORT_OFFSET), started if not running.
    kept = os.environ.get("PIZZA_TEST_VAR_DIR")
    infra = _test_settings(Path(kept or tempfile.mkdtemp(prefix="pizza-burst-infra-")))
    stack.up(infra)
    folder = Path(tempfile.mkdtemp(prefix="pizza-burst-"))
    payment_port, order_port = free_port(), free_port()
    payment = ServiceProcess(
        "payment_svc",
        payment_port,
        {
            "PAYMENT_PORT": str(payment_port),
            "PIZZA_VAR_DIR": str(folder / "payment"),
            "PAYMENT_ERROR_RATE": str(args.error_rate),
        },
        folder / "payment.log",
    ).start()
    order = ServiceProcess(
        "order_svc",
        order_port,
        {
            **infra_env(infra, "order"),
            "ORDER_PORT": str(order_port),
            "ORDER_PAYMENT_URL": payment.url,
            "PIZZA_VAR_DIR": str(folder / "order"),
            **({"ORDER_ADMISSION_LIMIT": str(args.limit)} if args.limit else {}),
        },
        folder / "order.log",
    ).start()
    try:
        for _ in range(args.rounds):
            answers = summary(asyncio.run(burst(order.url, args.orders)))
            print(json.dumps({"error_rate": args.error_rate, **answers}), flush=True)
            time.sleep(6)  # let a circuit opened by the last round close again
        time.sleep(args.settle)
        print(json.dumps({"after_s": args.settle, **ledgers(folder)}), flush=True)
    finally:
        order.stop()
        payment.stop()


if __name__ == "__main__":
    main()
