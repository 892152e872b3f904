"""``pizza-ctl demo``: the scenarios the platform exists to show, each proving itself.

Every demo says in plain words what it does, shows the evidence (HTTP answers, consumer
lag, log lines of the instances), and exits 1 if the scenario did not hold, so the
demos are acceptance tests as well. Each starts the platform first if it is not up.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from pizza_common.contracts import DELIVERY_GROUP, KITCHEN_GROUP
from pizza_common.web import TRACKING_TOKEN_HEADER
from pizza_infra.admin.lag import consumer_lag, total_lag
from pizza_infra.config import REPO_ROOT, InfraError, InfraSettings
from pizza_infra.kafka_access import admin_config
from pizza_infra.supervisor import control
from pizza_infra.supervisor.logs import parse
from pizza_infra.supervisor.platform import Platform
from pizza_infra.supervisor.services import PlatformSettings

EXAMPLE = json.loads((REPO_ROOT / "docs" / "examples" / "order.json").read_text())
DONE_STATES = ("ready", "driver_assigned", "on_the_way", "delivered")


class Demo:
    """Narration, evidence and the verdict of one scenario."""

    def __init__(self, title: str, timeout_s: float) -> None:
        self.title = title
        self.timeout_s = timeout_s
        self.failures: list[str] = []
        self.platform = Platform(PlatformSettings(), InfraSettings())
        self.http = httpx.Client(timeout=10)
        # The tracking token of each order placed, as its answer carried it: the demo reads
        # its orders as their customer does.
        self.tracking: dict[str, str] = {}

    def step(self, text: str) -> None:
        print(f"\n==> {text}", flush=True)

    def show(self, text: str) -> None:
        print(f"    {text}", flush=True)

    def check(self, ok: bool, claim: str) -> bool:
        print(f"    [{'ok' if ok else 'FAILED'}] {claim}", flush=True)
        if not ok:
            self.failures.append(claim)
        return ok

    def verdict(self) -> int:
        if self.failures:
            print(f"\n{self.title}: FAILED ({len(self.failures)} claim(s) did not hold)")
            return 1
        print(f"\n{self.title}: every claim held.")
        return 0

    # -- the platform, as a user sees it -----------------------------------------

    def url(self, service: str) -> str:
        return self.platform.settings.url(service)

    def place_order(self, language: str = "en") -> httpx.Response:
        answer = self.http.post(
            f"{self.url('order')}/orders",
            json=EXAMPLE,
            headers={"Idempotency-Key": f"demo-{uuid.uuid4()}", "Accept-Language": language},
        )
        body = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
        if body.get("order_id") and body.get("tracking_token"):
            self.tracking[body["order_id"]] = body["tracking_token"]
        return answer

    def read_order(self, service: str, order_id: str) -> httpx.Response:
        """``GET /orders/{order_id}`` at order or delivery, as the order's customer."""
        return self.http.get(
            f"{self.url(service)}/orders/{order_id}",
            headers={TRACKING_TOKEN_HEADER: self.tracking.get(order_id, "")},
        )

    def delivery_status(self, order_id: str) -> str | None:
        answer = self.read_order("delivery", order_id)
        return str(answer.json()["status"]) if answer.status_code == 200 else None

    def wait_for(self, what: str, condition: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.5)
        self.show(f"(gave up waiting after {self.timeout_s:.0f} s for: {what})")
        return False

    def wait_until_published(self, order_ids: list[str]) -> bool:
        def published() -> bool:
            states = [self.read_order("order", o).json() for o in order_ids]
            return all(state["event"] and state["event"]["published"] for state in states)

        return self.wait_for("order.placed published", published)

    def lag(self, group: str) -> int:
        return total_lag(consumer_lag(admin_config(self.platform.infra)), group)

    def show_lag(self, group: str) -> None:
        rows = [r for r in consumer_lag(admin_config(self.platform.infra)) if r.group == group]
        for row in rows:
            if row.lag:
                self.show(f"{row.group} {row.topic}[{row.partition}]: lag {row.lag}")
        self.show(f"total lag of group {group}: {sum(r.lag for r in rows)}")

    def kitchen_lines(self, order_ids: set[str], event: str) -> list[dict[str, Any]]:
        """The kitchen's log lines of ``event`` (cooking, ready) for these orders, in order."""
        log = self.platform.infra.log_dir / "kitchen.log"
        lines = []
        for raw in log.read_text(errors="replace").splitlines() if log.exists() else []:
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if record.get("event") == event and record.get("order_id") in order_ids:
                lines.append(record)
        return lines

    def cooked(self, order_ids: list[str]) -> set[str]:
        return {line["order_id"] for line in self.kitchen_lines(set(order_ids), "ready")}

    def show_kitchen_log(self, order_ids: set[str], limit: int = 12) -> None:
        log = self.platform.infra.log_dir / "kitchen.log"
        shown = 0
        for raw in log.read_text(errors="replace").splitlines() if log.exists() else []:
            if any(order_id in raw for order_id in order_ids) and shown < limit:
                line = parse(raw, "kitchen")
                self.show(f"{line.instance:<10} | {line.text[:110]}")
                shown += 1


def buffering(demo: Demo) -> None:
    demo.step("Stop every kitchen: orders can still be placed, they wait in Kafka.")
    demo.platform.stop("kitchen")
    baseline = demo.lag(KITCHEN_GROUP)
    demo.show(f"kitchen lag before: {baseline}")

    demo.step("Place 5 orders while no kitchen runs.")
    ids = []
    for _ in range(5):
        started = time.perf_counter()
        answer = demo.place_order()
        took = (time.perf_counter() - started) * 1000
        demo.show(f"POST /orders -> {answer.status_code} in {took:.0f} ms")
        if answer.status_code == 201:
            ids.append(answer.json()["order_id"])
    demo.check(len(ids) == 5, "all 5 orders were accepted at once (201)")
    demo.wait_until_published(ids)

    demo.step("The orders are buffered: they show as lag on the kitchen's consumer group.")
    demo.show_lag(KITCHEN_GROUP)
    demo.check(demo.lag(KITCHEN_GROUP) == baseline + 5, "kitchen lag grew by exactly 5")

    demo.step("Start the kitchen again: it picks up where its group left off.")
    demo.platform.start("kitchen")
    demo.platform.wait_healthy(["kitchen"])
    delivered = demo.wait_for(
        "all 5 delivered", lambda: all(demo.delivery_status(o) == "delivered" for o in ids)
    )
    demo.show_kitchen_log(set(ids))
    cooked = Counter(line["order_id"] for line in demo.kitchen_lines(set(ids), "ready"))
    demo.check(sorted(cooked) == sorted(ids), "all 5 orders were cooked")
    demo.check(all(count == 1 for count in cooked.values()), "each exactly once")
    demo.check(delivered, "all 5 were delivered")
    demo.show_lag(KITCHEN_GROUP)
    demo.check(demo.lag(KITCHEN_GROUP) == 0, "kitchen lag is back to 0")


def scaling(demo: Demo) -> None:
    demo.step("Run 3 kitchen instances in one consumer group.")
    demo.platform.scale("kitchen", 3)
    processes = demo.platform.wait_healthy(["kitchen"])
    owners: dict[str, list[int]] = {}

    def balanced() -> bool:
        for process in processes:
            status = demo.http.get(f"http://127.0.0.1:{process.port}/status").json()
            owners[process.instance] = sorted(
                p["partition"] for p in status.get("assigned_partitions", [])
            )
        return sum(len(partitions) for partitions in owners.values()) == 6 and all(owners.values())

    demo.check(demo.wait_for("partitions assigned", balanced), "the 6 partitions are shared")
    for instance, partitions in sorted(owners.items()):
        demo.show(f"{instance} owns order.placed partitions {partitions}")

    demo.step("Place 30 orders.")
    answers = [demo.place_order() for _ in range(30)]
    ids = [a.json()["order_id"] for a in answers if a.status_code == 201]
    demo.check(len(ids) == 30, "all 30 orders were accepted")
    demo.wait_for("all 30 cooked", lambda: demo.cooked(ids) == set(ids))

    demo.step("Who cooked what: the instances took turns.")
    ready = demo.kitchen_lines(set(ids), "ready")
    per_instance = Counter(line["instance"] for line in ready)
    for instance, count in sorted(per_instance.items()):
        demo.show(f"{instance} cooked {count} orders")
    sequence = " ".join(line["instance"].removeprefix("kitchen-") for line in ready)
    demo.show(f"order of 'ready' lines by instance: {sequence}")
    demo.show_kitchen_log(set(ids[:4]), limit=8)
    cooked = Counter(line["order_id"] for line in ready)
    demo.check(len(cooked) == 30, "every order was cooked")
    demo.check(all(count == 1 for count in cooked.values()), "no order was cooked twice")
    demo.check(len(per_instance) == 3, "all 3 instances cooked some")


def payment_outage(demo: Demo) -> None:
    demo.step("Stop the payment service.")
    demo.platform.stop("payment")

    demo.step("Place 3 orders: each gets a friendly 503 quickly, nothing crashes.")
    for language in ("de", "en", "de"):
        started = time.perf_counter()
        answer = demo.place_order(language)
        took = time.perf_counter() - started
        detail = answer.json().get("detail", "")
        retry = answer.headers.get("Retry-After")
        demo.show(f"{answer.status_code} in {took:.1f} s, Retry-After {retry}: {detail}")
        demo.check(answer.status_code == 503, "503 Service Unavailable")
        demo.check(took < 5, "answered within the payment deadline")
    health = demo.http.get(f"{demo.url('order')}/health").status_code
    demo.check(health == 200, "order_svc stays healthy")

    demo.step("Start payment again: orders succeed without restarting anything.")
    demo.platform.start("payment")
    demo.platform.wait_healthy(["payment"])
    accepted: list[int] = []

    def succeeds() -> bool:
        answer = demo.place_order()
        accepted.append(answer.status_code)
        return answer.status_code == 201

    demo.check(demo.wait_for("an accepted order", succeeds), "orders are accepted again")
    demo.show(f"answers while the circuit closed: {accepted}")


def delivery_offline(demo: Demo) -> None:
    demo.step("Stop delivery: kitchens keep cooking, order.ready events wait in Kafka.")
    demo.platform.stop("delivery")
    baseline = demo.lag(DELIVERY_GROUP)

    demo.step("Place 3 orders and wait until they are cooked.")
    ids = [
        a.json()["order_id"] for a in (demo.place_order() for _ in range(3)) if a.status_code == 201
    ]
    demo.check(len(ids) == 3, "3 orders accepted")
    cooked = demo.wait_for("cooked", lambda: demo.cooked(ids) == set(ids))
    demo.check(cooked, "all 3 were cooked while delivery was down")
    demo.show_lag(DELIVERY_GROUP)
    lagging = demo.lag(DELIVERY_GROUP) >= baseline + 6
    demo.check(lagging, "delivery lags by their 3 order.placed and 3 order.ready events")

    demo.step("Start delivery: it catches up from its committed offsets.")
    demo.platform.start("delivery")
    demo.platform.wait_healthy(["delivery"])
    delivered = demo.wait_for(
        "all delivered", lambda: all(demo.delivery_status(o) == "delivered" for o in ids)
    )
    for order_id in ids:
        demo.show(f"{order_id}: {demo.delivery_status(order_id)}")
    demo.check(delivered, "every order reached delivered")
    demo.check(demo.wait_for("lag 0", lambda: demo.lag(DELIVERY_GROUP) == 0), "delivery lag is 0")


DEMOS: dict[str, tuple[str, Callable[[Demo], None]]] = {
    "buffering": ("Kitchen offline: orders are buffered and cooked when it returns", buffering),
    "scaling": ("Three kitchens share the work", scaling),
    "payment-outage": ("Payment offline: a friendly error, then recovery", payment_outage),
    "delivery-offline": ("Delivery offline: it never misses an event", delivery_offline),
}


def run(name: str, timeout_s: float = 240) -> int:
    """Demo ``name`` (one of ``DEMOS``), starting the platform first if it is not up;
    0 when every claim held."""
    title, scenario = DEMOS[name]
    print(f"# {title}")
    demo = Demo(title, timeout_s)
    try:
        demo.step("Make sure the platform runs.")
        control.up()
        scenario(demo)
    except (InfraError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return demo.verdict()
