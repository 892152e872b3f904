"""``pizza-ctl bench``: how fast the platform is, against the floor and the ceiling.

It starts a separate platform (ports + 30000, data in ``var/bench``) as ``just up`` runs
it, with payment latency and errors at 0 and no cooking or driving time, and loads
``POST /orders`` with ``hey``: a short step at each concurrency of the curve, then a
sustained run at the main concurrency, during which it reads every process's CPU time,
delivery's accepted-to-delivered histogram and the consumer lag. In the same run it
measures the raw HTTP floor (a bare endpoint validating the same body) and Kafka's own
producer and consumer ceiling. Results: a JSON file and a PNG in ``var/bench``.
A benchmark measures; it never fails on speed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pizza_common.runtime import var_dir
from pizza_infra.admin.lag import consumer_lag
from pizza_infra.config import HOST, REPO_ROOT, InfraError, InfraSettings
from pizza_infra.kafka_access import admin_config
from pizza_infra.scenarios.bench import measure, report
from pizza_infra.scenarios.bench.ceiling import kafka_ceiling
from pizza_infra.scenarios.bench.loadgen import hey_binary, run_hey
from pizza_infra.servers.process import connect
from pizza_infra.supervisor.services import shifted_platform_env

BODY = REPO_ROOT / "docs" / "examples" / "order.json"
OFFSET = 30000
FLOOR_PORT = OFFSET + 8999
DELIVERED = "pizza_placed_to_delivered_seconds"


@dataclass(frozen=True)
class BenchOptions:
    concurrency: int  # of the sustained run
    seconds: float  # of the sustained run
    curve: tuple[int, ...]  # concurrencies of the short steps
    step_seconds: float
    warm_up_seconds: float  # of load at the sustained concurrency, measured by nothing
    kitchens: int
    kafka_records: int


def run_platform(command: str, env: dict[str, str]) -> None:
    subprocess.run(
        [str(Path(sys.executable).with_name("pizza-ctl")), command],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def floor(hey: Path, options: BenchOptions) -> dict[str, Any]:
    """The bare endpoint under the sustained run's concurrency, for a step's length, and
    the CPU its server spent per request."""
    server = subprocess.Popen(
        [sys.executable, "-m", "pizza_infra.scenarios.bench.floor", str(FLOOR_PORT)]
    )
    try:
        deadline = time.monotonic() + 30
        while (sock := connect(FLOOR_PORT, 0.5)) is None:
            if time.monotonic() > deadline or server.poll() is not None:
                raise InfraError("the HTTP floor's endpoint did not start")
            time.sleep(0.2)
        sock.close()
        url = f"http://{HOST}:{FLOOR_PORT}/orders"
        run_hey(hey, url, body=BODY, concurrency=4, seconds=2)  # warm-up
        cpu_before = measure.cpu_seconds(server.pid)
        stats = run_hey(
            hey, url, body=BODY, concurrency=options.concurrency, seconds=options.step_seconds
        )
        spent_ms = (measure.cpu_seconds(server.pid) - cpu_before) * 1000
        return {**stats.summary(), "cpu_ms_per_request": round(spent_ms / max(1, stats.ok), 3)}
    finally:
        server.terminate()
        server.wait(timeout=10)


def layers() -> dict[str, float]:
    """The CPU per call of each layer (:mod:`.layers`), in a process of its own."""
    found = subprocess.run(
        [sys.executable, "-m", "pizza_infra.scenarios.bench.layers"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    costs: dict[str, float] = json.loads(found.stdout.splitlines()[-1])
    return costs


class LagSampler(threading.Thread):
    """Total consumer lag per group every few seconds while the load runs."""

    def __init__(self, client_config: dict[str, Any], every_s: float = 5.0) -> None:
        super().__init__(daemon=True)
        self._client_config, self._every = client_config, every_s
        self.samples: list[dict[str, Any]] = []
        self.started_at = time.monotonic()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self._every):
            totals: dict[str, int] = {}
            for row in consumer_lag(self._client_config):
                totals[row.group] = totals.get(row.group, 0) + row.lag
            at = round(time.monotonic() - self.started_at, 1)
            self.samples.append({"at_s": at, "lag": totals})


def wait_delivered(delivery_url: str, expected: float, timeout_s: float) -> float | None:
    """Seconds until delivery has delivered ``expected`` orders in all; None on timeout."""
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        if measure.total(measure.histogram(measure.scrape(delivery_url), DELIVERED)) >= expected:
            return round(time.monotonic() - began, 1)
        time.sleep(0.5)
    return None


def sustained(
    hey: Path, options: BenchOptions, env: dict[str, str], order_url: str, delivery_url: str
) -> dict[str, Any]:
    pids = measure.platform_pids(env)
    cpu_before = measure.cpu_of(pids)
    delivered_before = measure.histogram(measure.scrape(delivery_url), DELIVERED)
    # The benchmark's own platform: its brokers, its admin's password.
    platform_infra = InfraSettings(
        var_dir=Path(env["PIZZA_VAR_DIR"]), kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"]
    )
    lag = LagSampler(admin_config(platform_infra))
    lag.start()
    stats = run_hey(
        hey, order_url, body=BODY, concurrency=options.concurrency, seconds=options.seconds
    )
    delivered_while_loaded = measure.histogram(measure.scrape(delivery_url), DELIVERED)
    lag.stop.set()
    lag.join()
    expected = measure.total(delivered_before) + stats.ok
    drained = wait_delivered(delivery_url, expected, timeout_s=max(120.0, options.seconds * 2))
    # Everything the platform spent on these orders, their cooking and delivery included.
    spent = {n: (c - cpu_before[n]) * 1000 for n, c in measure.cpu_of(pids).items()}
    per_order = {n: round(ms / max(1, stats.ok), 3) for n, ms in spent.items()}
    delivered = measure.difference(
        measure.histogram(measure.scrape(delivery_url), DELIVERED), delivered_before
    )
    loaded = measure.total(measure.difference(delivered_while_loaded, delivered_before))
    return {
        **stats.summary(),
        "accepted_per_s": stats.per_s,
        "accept_latency_ms": {f"p{p}": stats.percentile(p) for p in (50, 90, 99)},
        "delivered_per_s": loaded / stats.seconds if stats.seconds else 0.0,
        "drained_after_s": drained,
        "accepted_to_delivered_ms": {
            f"p{p}": measure.quantile(delivered, p / 100) * 1000 for p in (50, 90, 99)
        },
        "lag": lag.samples,
        "cpu_ms_per_process": per_order,
        "cpu_ms_per_order": round(sum(per_order.values()), 2),
        "rss_mib": {name: measure.rss_mib(pid) for name, pid in pids.items()},
    }


def run(options: BenchOptions) -> int:
    """The benchmark on a platform of its own; writes its JSON and PNG into var/bench."""
    bench_dir = var_dir() / "bench"
    platform_dir = bench_dir / "platform"
    shutil.rmtree(platform_dir, ignore_errors=True)
    cache = str(InfraSettings().cache_dir)
    hey = hey_binary(InfraSettings())
    print(f"The HTTP floor, concurrency {options.concurrency} ...", flush=True)
    floor_stats = floor(hey, options)
    print("What one call of each layer costs, measured alone ...", flush=True)
    layer_costs = layers()
    env = {
        **os.environ,
        **shifted_platform_env(OFFSET, str(platform_dir), cache),
        "KITCHENS": str(options.kitchens),
        "KITCHEN_COOK_SECONDS": "0",
        "DELIVERY_DRIVE_SECONDS": "0",
        "DELIVERY_DRIVERS": "100",
        "PAYMENT_LATENCY_MS": "0",
        "PAYMENT_ERROR_RATE": "0",
    }
    order_url = f"http://{HOST}:{env['ORDER_PORT']}/orders"
    delivery_url = f"http://{HOST}:{env['DELIVERY_PORT']}"
    print(f"Starting a separate platform for the benchmark (ports +{OFFSET}) ...", flush=True)
    began = time.monotonic()
    run_platform("up", env)
    up_s = round(time.monotonic() - began, 1)
    try:
        # A platform runs for days: its figures are those of warm processes. Kafka's JIT
        # compiles the broker's hot paths under the first minute of load, and until then a
        # freshly started broker cost up to three times its warm CPU per order.
        warm_up = max(options.warm_up_seconds, 3)  # at least the connections and caches
        print(f"Warming up: concurrency {options.concurrency} for {warm_up} s ...", flush=True)
        before = measure.total(measure.histogram(measure.scrape(delivery_url), DELIVERED))
        warmed = run_hey(
            hey, order_url, body=BODY, concurrency=options.concurrency, seconds=warm_up
        )
        drained = wait_delivered(delivery_url, before + warmed.ok, max(120.0, warm_up * 2))
        if drained is None:
            # Measured anyway, but the first steps then also pay for the warm-up's backlog.
            print("the warm-up's orders were not all delivered in time", flush=True)
        curve = []
        for level in options.curve:
            print(f"Concurrency {level} for {options.step_seconds} s ...", flush=True)
            step = run_hey(
                hey, order_url, body=BODY, concurrency=level, seconds=options.step_seconds
            )
            curve.append(step.summary())
        print(
            f"Sustained: concurrency {options.concurrency} for {options.seconds} s, "
            "then until every order is delivered ...",
            flush=True,
        )
        main = sustained(hey, options, env, order_url, delivery_url)
        curve.append({k: main[k] for k in ("concurrency", "ok_per_s", "latency_ms")})
        print("Kafka's own perf tools on the same broker ...", flush=True)
        os.environ.update({k: env[k] for k in ("KAFKA_PORT", "PIZZA_VAR_DIR", "PIZZA_CACHE_DIR")})
        ceiling = kafka_ceiling(InfraSettings(), options.kafka_records, 600)
    finally:
        run_platform("down", env)
    # Started again on the data it keeps: how long `just up` takes on a machine that ran
    # the platform before (the first start above also creates every store).
    began = time.monotonic()
    run_platform("up", env)
    warm_up_s = round(time.monotonic() - began, 1)
    run_platform("down", env)

    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count()},
        "config": {
            "kitchens": options.kitchens,
            "payment_latency_ms": 0,
            "cook_seconds": 0,
            "drive_seconds": 0,
            "load_generator": "hey",
            "load_before_measuring_s": warm_up,
        },
        "platform_up_s": up_s,
        "platform_warm_up_s": warm_up_s,
        "floor": floor_stats,
        "layers_us": layer_costs,
        "curve": curve,
        "sustained": main,
        "rss_mib": main.pop("rss_mib"),
        "kafka_ceiling": ceiling,
    }
    bench_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path, png_path = bench_dir / f"bench-{stamp}.json", bench_dir / f"bench-{stamp}.png"
    json_path.write_text(json.dumps(result, indent=2))
    report.chart(result, png_path)
    print("")
    print(f"platform up in {up_s} s (new data), {warm_up_s} s (warm: started before)")
    for line in report.lines(result):
        print(line)
    print(f"wrote {json_path} and {png_path}")
    return 0
