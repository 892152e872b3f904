"""``pizza-ctl chaos``: a bounded soak under random faults, then the platform's invariants.

It starts a platform of its own (ports shifted by ``--port-offset``, data in
``var/chaos/platform``), places ``--rate`` orders a second for ``--seconds`` while the
faults of a plan drawn from ``--seed`` hit it, brings everything back and waits until it
settled, then reads every service's database, the ledger, the topics and the lag and
checks the invariants. It prints a table and ``chaos: N orders, F faults, V violations``,
writes a JSON report to ``var/chaos/``, stops its platform, and exits 1 on any violation
(2 if the soak itself could not run).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from pizza_common.runtime import var_dir
from pizza_infra.config import InfraSettings
from pizza_infra.scenarios.chaos.faults import FaultRecord, Injector, run_plan
from pizza_infra.scenarios.chaos.invariants import check, violation_count
from pizza_infra.scenarios.chaos.load import ClientSettings, Load, run_load
from pizza_infra.scenarios.chaos.observe import PlatformFiles, observe
from pizza_infra.scenarios.chaos.plan import Fault, PlanSettings, make_plan
from pizza_infra.scenarios.chaos.quiesce import dump_stacks, in_flight, wait_until_settled
from pizza_infra.scenarios.chaos.report import report_json, table, write_report
from pizza_infra.supervisor.services import PlatformSettings, shifted_platform_env

# Clear of the ports of the integration tests (+10000), the end-to-end tests (+20000) and
# the benchmark (+30000); every port stays below 32768, where Linux picks the local ports
# of outgoing connections (one of those once took the process manager's port).
DEFAULT_PORT_OFFSET = 23250
PROGRESS_EVERY_S = 10.0


def chaos_env(
    offset: int, platform_dir: Path, infra: InfraSettings, kitchens: int
) -> dict[str, str]:
    """The soak's platform: its own ports and data (the downloads are shared), as many Kafka
    nodes as asked for, short cooks and drives, enough drivers, and no payment failures but
    those the faults inject."""
    shifted = shifted_platform_env(
        offset, str(platform_dir), str(infra.cache_dir), kafka_nodes=infra.kafka_nodes
    )
    return {
        **shifted,
        "KITCHENS": str(kitchens),
        "KITCHEN_COOK_SECONDS": "0.2-1",
        "DELIVERY_DRIVE_SECONDS": "0.2-1",
        "DELIVERY_DRIVERS": "20",
        "PAYMENT_ERROR_RATE": "0",
    }


def pizza_ctl(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("pizza-ctl")), command],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


async def soak(
    plan: list[Fault], injector: Injector, client: ClientSettings, seconds: float, seed: int
) -> tuple[Load, list[FaultRecord]]:
    """Orders at a steady rate for ``seconds`` while the plan's faults run; the orders
    go on until the last fault has ended, then those in flight are answered."""
    load = Load(run_id=uuid.uuid4().hex[:8])
    stop = asyncio.Event()
    began = time.monotonic()

    def done(record: FaultRecord) -> None:
        print(
            f"  {record.started_s or 0:6.1f} s  {record.fault.kind:<22} {record.outcome:<8} "
            f"{record.detail}",
            flush=True,
        )

    async def progress() -> None:
        while not stop.is_set():
            await asyncio.sleep(PROGRESS_EVERY_S)
            outcomes = ", ".join(f"{k} {v}" for k, v in load.outcomes().most_common())
            print(
                f"  {time.monotonic() - began:6.1f} s  orders: {outcomes or '-'}; "
                f"in flight {load.in_flight}",
                flush=True,
            )

    # Ctrl-C or SIGTERM cancel the soak inside the loop: pauses end with SIGCONT, payment
    # phases are undone, requests in flight are closed, then the caller tears down.
    loop = asyncio.get_running_loop()
    soaking = asyncio.current_task()
    assert soaking is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, soaking.cancel)
    load_task = asyncio.create_task(run_load(client, load, stop, random.Random(f"{seed}-orders")))
    progress_task = asyncio.create_task(progress())
    try:
        records = await run_plan(injector, plan, began, done)
        await asyncio.sleep(max(0.0, began + seconds - time.monotonic()))
        stop.set()
        await load_task
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        signal.signal(signal.SIGTERM, _interrupted)  # removing it above reset it
        stop.set()
        for task in (progress_task, load_task):
            task.cancel()
        await asyncio.gather(progress_task, load_task, return_exceptions=True)
    return load, records


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@dataclass(frozen=True)
class SoakOptions:
    seconds: float = 300
    seed: int | None = None  # None: a random one, printed for a replay
    rate: float = 2.0  # orders per second
    kitchens: int = 3
    fault_interval: float = 8.0  # mean seconds between faults
    quiesce_seconds: float = 120  # afterwards, how long nothing may move before it is stuck
    port_offset: int = DEFAULT_PORT_OFFSET


def run(options: SoakOptions) -> int:
    """The soak, its verdict as the exit code: 0, 1 on any violation, 2 if it could not
    run, 130 when interrupted."""
    try:
        return _run(options)
    except KeyboardInterrupt:
        print("chaos: interrupted; its platform is stopped", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - said in one line; the platform is already down
        print(f"chaos: the soak failed: {exc!r}", file=sys.stderr)
        return 2


def _run(args: SoakOptions) -> int:
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    chaos_dir = var_dir() / "chaos"
    platform_dir = chaos_dir / "platform"
    shutil.rmtree(platform_dir, ignore_errors=True)
    overrides = chaos_env(args.port_offset, platform_dir, InfraSettings(), args.kitchens)
    env = {**os.environ, **overrides}
    os.environ.update(overrides)  # this process talks to the soak's platform only
    platform, infra = PlatformSettings(), InfraSettings()
    plan = make_plan(
        seed, PlanSettings(args.seconds, args.kitchens, infra.kafka_nodes, args.fault_interval)
    )
    config: dict[str, Any] = {
        "seed": seed,
        "seconds": args.seconds,
        "rate": args.rate,
        "kitchens": args.kitchens,
        "kafka_nodes": infra.kafka_nodes,
        "fault_interval_s": args.fault_interval,
        "quiesce_seconds": args.quiesce_seconds,
        "port_offset": args.port_offset,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    injector = Injector(platform, infra, random.Random(f"{seed}-targets"))
    client = ClientSettings(order_url=platform.url("order"), rate=args.rate)
    files = PlatformFiles(platform_dir)
    signal.signal(signal.SIGTERM, _interrupted)
    print(
        f"chaos: seed {seed}, {args.seconds:.0f} s at {args.rate} orders/s, {len(plan)} faults "
        f"planned; a platform of its own on ports +{args.port_offset} ...",
        flush=True,
    )
    try:
        started = pizza_ctl("up", env)
        if started.returncode != 0:
            print(started.stdout[-3000:] + started.stderr[-3000:], file=sys.stderr)
            print("chaos: the platform did not start", file=sys.stderr)
            return 2
        injector.remember_simulation()
        print("soak: placing orders, injecting faults", flush=True)
        try:
            load, records = asyncio.run(soak(plan, injector, client, args.seconds, seed))
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None
        print("quiesce: faults over; bringing every process back", flush=True)
        injector.resume_all()
        injector.restore_simulation()
        recovered = pizza_ctl("up", env)
        if recovered.returncode != 0:
            print(f"  just up could not bring everything back:\n{recovered.stderr[-2000:]}")
        settling = wait_until_settled(lambda: in_flight(files, infra), args.quiesce_seconds)
        if not settling.settled:
            dumped = dump_stacks(platform, infra)
            print(f"  not settled: stacks of {', '.join(dumped)} dumped into their logs")
        print("check: reading databases, ledger, topics and lag", flush=True)
        observed = observe(files, infra, load.orders, injector.planted)
    finally:
        # Tear down whatever happened; a second Ctrl-C must not cut the teardown short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        injector.resume_all()
        pizza_ctl("down", env)  # its data and logs stay in platform_dir to look at
    results = check(observed)
    config["recovery"] = "ok" if recovered.returncode == 0 else recovered.stderr[-2000:]
    report = report_json(
        config=config, records=records, orders=load.orders, settling=settling, results=results
    )
    report["planted"] = [asdict(planted) for planted in injector.planted]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = write_report(report, chaos_dir, stamp)
    print()
    print(f"report: {path}")
    nodes = f"KAFKA_NODES={infra.kafka_nodes} " if infra.kafka_nodes > 1 else ""
    print(
        f"replay: {nodes}just chaos --seed {seed} --seconds {args.seconds:g} --rate {args.rate:g}"
        f" --kitchens {args.kitchens} --fault-interval {args.fault_interval:g}"
    )
    print(table(records, load.orders, settling, results))
    return 1 if violation_count(results) else 0
