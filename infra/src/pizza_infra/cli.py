"""``pizza-ctl``: the platform's one command line, for a person operating it locally.

The platform: ``up`` (infra, schemas, then every service, waiting until each answers),
``down``, ``ps``, ``logs``, ``stop``, ``start``, ``scale``, ``lag``. The infrastructure
alone: ``infra up|down|status``, ``broker``, ``topics``, ``topics-apply``,
``schemas-register``, ``schemas-check``, ``dlq-replay``. The Helm chart: ``chart-topics``,
``chart-tools``. Scenarios: ``demo``, ``bench``, ``chaos``,
``order``.

Every command is idempotent and prints what it did; problems the user must fix exit 1
with one clear sentence.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from confluent_kafka.schema_registry import SchemaRegistryClient

from pizza_common.kafka import registry_client
from pizza_infra.admin import dlq
from pizza_infra.admin.access import apply_access
from pizza_infra.admin.lag import consumer_lag, total_lag
from pizza_infra.admin.schemas import check_all, register_all
from pizza_infra.admin.topics import apply_topics, describe_topics, load_topics
from pizza_infra.config import REPO_ROOT, InfraError, InfraSettings
from pizza_infra.k8s import chart
from pizza_infra.k8s import tools as k8s_tools
from pizza_infra.kafka_access import admin_config
from pizza_infra.scenarios import bench, demos, sample_order
from pizza_infra.scenarios.bench import kitchens as kitchen_bench
from pizza_infra.scenarios.chaos import soak
from pizza_infra.servers import stack
from pizza_infra.servers.kafka import start_broker, stop_broker
from pizza_infra.servers.registry import registry_answers
from pizza_infra.supervisor import control
from pizza_infra.supervisor import logs as log_view
from pizza_infra.supervisor.services import SERVICES, START_ORDER

Handler = Callable[[argparse.Namespace], int]

# -- the platform -------------------------------------------------------------------


def up(args: argparse.Namespace) -> int:
    return control.up()


def down(args: argparse.Namespace) -> int:
    return control.down()


def ps(args: argparse.Namespace) -> int:
    platform = control.current()
    servers = stack.statuses(platform.infra)
    if not platform.running():
        print("\n".join(control.process_table([], servers)))
        print("services are not running (just up)")
        return 1
    processes = platform.processes()
    print("\n".join(control.process_table(processes, servers)))
    healthy = all(p.healthy and p.not_ready is None for p in processes)
    healthy = healthy and all(s.answers for s in servers)
    return 0 if processes and healthy else 1


def logs(args: argparse.Namespace) -> int:
    infra = InfraSettings()
    names = [args.service.removesuffix("_svc")] if args.service else list(START_ORDER)
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        raise InfraError(f"unknown service {unknown[0]!r}; one of: {', '.join(SERVICES)}")
    files = {name: infra.log_dir / f"{name}.log" for name in names}
    for line in log_view.merged(files, args.lines):
        print(log_view.render(line), flush=True)
    if args.follow:
        try:
            for line in log_view.follow(files):
                print(log_view.render(line), flush=True)
        except KeyboardInterrupt:
            return 0
    return 0


def stop(args: argparse.Namespace) -> int:
    platform = control.current()
    platform.stop(args.service)
    control.refresh_targets(platform)
    print(f"{args.service}: stopped")
    return 0


def start(args: argparse.Namespace) -> int:
    platform = control.current()
    platform.start(args.service)
    print("\n".join(control.process_table(platform.wait_healthy([args.service]))))
    control.refresh_targets(platform)
    return 0


def scale(args: argparse.Namespace) -> int:
    name, _, count = args.spec.partition("=")
    if not count.isdigit():
        raise InfraError("write it as kitchen=<n>, e.g. just scale kitchen=3")
    platform = control.current()
    platform.scale(name, int(count))
    print("\n".join(control.process_table(platform.wait_healthy([name]))))
    control.refresh_targets(platform)
    return 0


def lag(args: argparse.Namespace) -> int:
    rows = consumer_lag(admin_config(InfraSettings()))
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], indent=2))
        return 0
    print(f"{'group':<10} {'topic':<14} {'partition':>9} {'committed':>9} {'end':>7} {'lag':>6}")
    for row in rows:
        committed = "-" if row.committed is None else row.committed
        print(
            f"{row.group:<10} {row.topic:<14} {row.partition:>9} {committed:>9} "
            f"{row.end:>7} {row.lag:>6}"
        )
    for group in dict.fromkeys(row.group for row in rows):
        print(f"total lag of group {group}: {total_lag(rows, group)}")
    return 0


# -- the infrastructure alone ---------------------------------------------------------


def infra_command(args: argparse.Namespace) -> int:
    settings = InfraSettings()
    if args.action == "up":
        stack.up(settings)
        return 0
    if args.action == "down":
        stack.down(settings)
        return 0
    rows = stack.statuses(settings)
    for row in rows:
        print(f"{row.name:<9} {row.state:<18} pid={row.pid or '-':<8} {row.address}")
    return 0 if all(row.answers for row in rows) else 1


def broker(args: argparse.Namespace) -> int:
    """Stop, kill or start one Kafka node while the others run."""
    settings = InfraSettings()
    if args.action == "start":
        done = start_broker(settings, args.node)
        print(f"kafka node {args.node}: {'started' if done else 'was running'}")
    else:
        done = stop_broker(settings, args.node, kill=args.kill)
        verb = "killed" if args.kill else "stopped"
        print(f"kafka node {args.node}: {verb if done else 'was not running'}")
    return 0


def topics(args: argparse.Namespace) -> int:
    settings = InfraSettings()
    specs = load_topics(settings)
    print(
        f"{'topic':<20} {'partitions':>10} {'replicas':>8} {'in-sync':>7} {'records':>8}"
        "  end offsets"
    )
    for state in describe_topics(settings, [spec.name for spec in specs]):
        offsets = " ".join("?" if offset is None else str(offset) for offset in state.end_offsets)
        print(
            f"{state.name:<20} {state.partitions:>10} {state.replication_factor:>8} "
            f"{state.in_sync:>7} {state.records:>8}  {offsets}"
        )
    return 0


def dlq_replay(args: argparse.Namespace) -> int:
    dlq.check_topic(args.topic)
    positions = dlq.parse_positions(args.offset)
    config = admin_config(InfraSettings())
    letters = dlq.read_dead_letters(config, args.topic)
    if not positions and not args.all:
        print(f"{len(letters)} dead letter(s) in {args.topic}; nothing replayed")
        for letter in letters:
            key = (letter.key or b"").decode(errors="replace")
            print(f"  {letter.partition}:{letter.offset}  key {key}  {letter.reason}")
        if letters:
            print("replay with --offset <partition>:<offset> (repeatable) or --all")
        return 0
    chosen = dlq.choose(letters, positions, everything=args.all)
    dlq.replay(config, chosen)
    for letter in chosen:
        print(f"{letter.position} -> {letter.source_topic}")
    print(f"{len(chosen)} dead letter(s) replayed")
    return 0


def topics_apply(args: argparse.Namespace) -> int:
    settings = InfraSettings()
    for change in apply_topics(settings, load_topics(settings)) or ["topics up to date"]:
        print(change)
    for change in apply_access(settings) or ["kafka users set, ACLs up to date"]:
        print(change)
    return 0


def chart_topics(args: argparse.Namespace) -> int:
    changed = chart.write_topics()
    print(f"{chart.TOPICS_FILE.relative_to(REPO_ROOT)} {'written' if changed else 'unchanged'}")
    return 0


def chart_tools(args: argparse.Namespace) -> int:
    validators = k8s_tools.build()
    print(f"helm        {validators.helm}")
    print(f"kubeconform {validators.kubeconform}")
    for location in validators.schema_locations:
        print(f"schemas     {location}")
    return 0


def _registry(settings: InfraSettings) -> SchemaRegistryClient:
    if not registry_answers(settings):
        raise InfraError(
            f"the schema registry does not answer at {settings.schema_registry_url}; "
            "run `just infra-up`"
        )
    return registry_client(settings.schema_registry_url)


def schemas_register(args: argparse.Namespace) -> int:
    for entry in register_all(_registry(InfraSettings()), args.schemas_dir):
        print(f"{entry.subject:<22} version {entry.version:<3} id {entry.schema_id}")
    return 0


def schemas_check(args: argparse.Namespace) -> int:
    results = check_all(_registry(InfraSettings()), args.schemas_dir)
    for result in results:
        print(
            f"{result.subject:<22} {result.verdict}{': ' + result.detail if result.detail else ''}"
        )
    return 0 if all(result.ok for result in results) else 1


# -- scenarios ------------------------------------------------------------------------


def demo(args: argparse.Namespace) -> int:
    return demos.run(args.name, args.timeout)


def bench_command(args: argparse.Namespace) -> int:
    if args.kitchen_scaling:
        return kitchen_scaling(args)
    try:
        curve = tuple(int(level) for level in args.curve.split(",") if level.strip())
    except ValueError as exc:
        raise InfraError(f"--curve takes concurrencies like 1,4,16,64, not {args.curve}") from exc
    if args.seconds <= 0 or args.step_seconds <= 0 or min((args.concurrency, *curve)) < 1:
        raise InfraError("--seconds and --step-seconds must be positive, concurrencies >= 1")
    if args.warm_up_seconds < 0:
        raise InfraError("--warm-up-seconds must not be negative")
    return bench.run(
        bench.BenchOptions(
            concurrency=args.concurrency,
            seconds=args.seconds,
            curve=curve,
            step_seconds=args.step_seconds,
            warm_up_seconds=args.warm_up_seconds,
            kitchens=args.kitchens,
            kafka_records=args.kafka_records,
        )
    )


def kitchen_scaling(args: argparse.Namespace) -> int:
    try:
        counts = tuple(int(count) for count in args.counts.split(",") if count.strip())
    except ValueError as exc:
        raise InfraError(f"--counts takes kitchen counts like 1,2,3,6, not {args.counts}") from exc
    if not counts or not all(1 <= count <= 6 for count in counts):
        raise InfraError("--counts are 1 to 6 (order.placed has 6 partitions)")
    if args.orders_per_kitchen < 1 or args.ovens < 1:
        raise InfraError("--orders-per-kitchen and --ovens must be at least 1")
    return kitchen_bench.run(
        kitchen_bench.ScalingOptions(
            counts=counts, orders_per_kitchen=args.orders_per_kitchen, ovens=args.ovens
        )
    )


def chaos(args: argparse.Namespace) -> int:
    if args.seconds <= 0 or args.rate <= 0:
        raise InfraError("--seconds and --rate must be positive")
    return soak.run(
        soak.SoakOptions(
            seconds=args.seconds,
            seed=args.seed,
            rate=args.rate,
            kitchens=args.kitchens,
            fault_interval=args.fault_interval,
            quiesce_seconds=args.quiesce_seconds,
            port_offset=args.port_offset,
        )
    )


def order(args: argparse.Namespace) -> int:
    return sample_order.place(args.url, args.body, args.language)


# -- the command tree -----------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pizza-ctl", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        return sub

    command("up", up, "start infra and every service; wait until all answer")
    command("down", down, "stop every service, then the infra")
    command("ps", ps, "every process: service, instance, pid, port, health")
    sub = command("logs", logs, "the services' logs merged, each line prefixed by its instance")
    sub.add_argument("service", nargs="?", help="only this service")
    sub.add_argument("-n", "--lines", type=int, default=50)
    sub.add_argument("-f", "--follow", action="store_true")
    for name, handler, text in (("stop", stop, "stop a service"), ("start", start, "start it")):
        command(name, handler, text).add_argument("service", choices=list(SERVICES))
    command("scale", scale, "set the number of kitchen instances").add_argument(
        "spec", help="kitchen=<n>"
    )
    command("lag", lag, "consumer lag per group and partition").add_argument(
        "--json", action="store_true"
    )

    sub = command("infra", infra_command, "Kafka, the schema registry, Zipkin and Keycloak alone")
    sub.add_argument(
        "action",
        choices=["up", "down", "status"],
        help="up: start them (fetching them the first time) and apply the topics; down: stop "
        "them; status: say whether each answers (exit 1 if not)",
    )
    sub = command("broker", broker, "stop, kill or start one Kafka node")
    sub.add_argument("action", choices=["stop", "start"])
    sub.add_argument("node", type=int, help="node id, 1 to KAFKA_NODES")
    sub.add_argument("--kill", action="store_true", help="SIGKILL instead of a clean stop")
    command("topics", topics, "list the platform's topics with partitions and end offsets")
    command(
        "topics-apply",
        topics_apply,
        "create or update the platform's topics, the services' Kafka users and ACLs",
    )
    for name, handler, text in (
        ("schemas-register", schemas_register, "register the Avro schemas in schemas/"),
        (
            "schemas-check",
            schemas_check,
            "fail if a schema is incompatible with what is registered",
        ),
    ):
        sub = command(name, handler, text)
        sub.add_argument("--schemas-dir", type=Path, default=None, help="default: schemas/")

    sub = command(
        "dlq-replay",
        dlq_replay,
        "list a dead-letter topic's records, or send chosen ones back to their source topic",
    )
    sub.add_argument("topic", help="the dead-letter topic, e.g. order.placed.dlq")
    sub.add_argument(
        "--offset",
        action="append",
        default=[],
        metavar="PARTITION:OFFSET",
        help="replay this dead letter (repeatable)",
    )
    sub.add_argument("--all", action="store_true", help="replay every dead letter of the topic")

    command(
        "chart-topics",
        chart_topics,
        "write the Helm chart's topics.yaml from the topics of pizza_common.contracts",
    )
    command(
        "chart-tools",
        chart_tools,
        "build Helm, kubeconform and the schemas the chart is checked against; print where",
    )

    sub = command("demo", demo, demos.__doc__.splitlines()[0] if demos.__doc__ else "a demo")
    sub.add_argument("name", choices=list(demos.DEMOS))
    sub.add_argument("--timeout", type=float, default=240, help="seconds to wait per step")
    sub = command("bench", bench_command, "a bounded load on POST /orders; JSON + PNG in var/bench")
    sub.add_argument("--concurrency", type=int, default=32, help="of the sustained run")
    sub.add_argument("--seconds", type=float, default=60, help="of the sustained run")
    sub.add_argument("--curve", default="1,4,16,64", help="concurrencies of the short steps")
    sub.add_argument("--step-seconds", type=float, default=10)
    sub.add_argument(
        "--warm-up-seconds",
        type=float,
        default=60,
        help="of load before anything is measured (the JVMs compile their hot paths)",
    )
    sub.add_argument("--kitchens", type=int, default=3)
    sub.add_argument("--kafka-records", type=int, default=200_000)
    sub.add_argument(
        "--kitchen-scaling",
        action="store_true",
        help="instead: kitchens of a fixed 2 s cook time, throughput per instance count",
    )
    sub.add_argument("--counts", default="1,2,3,6", help="kitchen instances (--kitchen-scaling)")
    sub.add_argument("--orders-per-kitchen", type=int, default=24, help="(--kitchen-scaling)")
    sub.add_argument("--ovens", type=int, default=4, help="KITCHEN_OVENS (--kitchen-scaling)")
    sub = command("chaos", chaos, "a bounded soak under random faults, then every invariant")
    sub.add_argument("--seconds", type=float, default=300, help="soak length (default 300)")
    sub.add_argument("--seed", type=int, default=None, help="replay a run (default: random)")
    sub.add_argument("--rate", type=float, default=2.0, help="orders per second (default 2)")
    sub.add_argument("--kitchens", type=int, default=3, choices=range(1, 7))
    sub.add_argument(
        "--fault-interval", type=float, default=8.0, help="mean seconds between faults"
    )
    sub.add_argument(
        "--quiesce-seconds",
        type=float,
        default=120,
        help="afterwards, how long nothing may move before it counts as stuck (default 120)",
    )
    sub.add_argument("--port-offset", type=int, default=soak.DEFAULT_PORT_OFFSET)
    sub = command("order", order, "place the sample order (docs/examples/order.json)")
    sub.add_argument(
        "--url",
        default=sample_order.default_url(),
        help="order_svc (default: http://127.0.0.1:$ORDER_PORT)",
    )
    sub.add_argument("--body", type=Path, default=sample_order.EXAMPLE, help="order JSON to send")
    sub.add_argument("--language", default="en", help="Accept-Language (de or en)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
