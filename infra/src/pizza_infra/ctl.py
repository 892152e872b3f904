"""``pizza-ctl``: run the services as processes, as a person operating the platform does.

``up`` starts every service (infra first, via ``pizza-infra up``) and waits until each
answers; ``ps``, ``logs``, ``stop``, ``start``, ``scale`` and ``lag`` work on what runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from pizza_common.avro import registry_client
from pizza_infra.admin.lag import consumer_lag, total_lag
from pizza_infra.admin.schemas import register_all
from pizza_infra.config import InfraError, InfraSettings
from pizza_infra.servers import stack
from pizza_infra.servers.java_server import ServerStatus
from pizza_infra.supervisor import logs as log_view
from pizza_infra.supervisor import prometheus
from pizza_infra.supervisor.platform import Platform, ProcessInfo
from pizza_infra.supervisor.services import SERVICES, START_ORDER, PlatformSettings


def _platform() -> Platform:
    return Platform(PlatformSettings(), InfraSettings())


def up(args: argparse.Namespace) -> int:
    infra = InfraSettings()
    stack.up(infra)
    for entry in register_all(registry_client(infra.schema_registry_url)):
        print(f"schema {entry.subject} version {entry.version}")
    platform = _platform()
    prometheus.write_targets(platform.settings, infra, platform.settings.kitchens)
    platform.start_manager()
    for name in platform.watchers():  # all watchers, also those stopped before
        if not platform.is_active(name) and (name != "kitchen" or platform.settings.kitchens):
            platform.start(name)
    processes = platform.wait_healthy()
    _refresh_targets(platform)
    print()
    _print_processes(processes)
    print()
    print(f"kafka              {infra.bootstrap_servers}")
    payments = len(platform.pids("payment"))
    print(f"payment API        {platform.settings.url('payment')}  ({payments} instances)")
    print(f"schema registry    {infra.schema_registry_url}")
    print(f"order API          {platform.settings.url('order')}/schema  (OpenAPI UI)")
    print(f"consumer lag       {platform.settings.url('monitor')}/metrics")
    print(f"traces (Zipkin)    {infra.zipkin_url}/zipkin/")
    if prometheus.binary() is None:
        print(prometheus.INSTALL_HINT)
    elif prometheus.WATCHER in platform.watchers():
        print(f"prometheus         {prometheus.url(platform.settings)}")
    else:
        print("prometheus: installed since the platform started; just down && just up adds it")
    print("\nPlace an order: just order    Watch: just logs    Stop: just down")
    return 0


def down(args: argparse.Namespace) -> int:
    platform = _platform()
    print("services: " + ("stopped" if platform.quit() else "were not running"))
    stack.down(InfraSettings())
    return 0


def ps(args: argparse.Namespace) -> int:
    platform = _platform()
    infra = stack.statuses(platform.infra)
    if not platform.running():
        _print_processes([], infra)
        print("services are not running (just up)")
        return 1
    processes = platform.processes()
    _print_processes(processes, infra)
    healthy = all(p.healthy and p.not_ready is None for p in processes)
    healthy = healthy and all(p.answers for p in infra)
    return 0 if processes and healthy else 1


def _print_processes(processes: list[ProcessInfo], infra: list[ServerStatus] | None = None) -> None:
    print(f"{'service':<10} {'instance':<12} {'pid':>7} {'port':>6}  health   url")
    for i in infra or []:
        service = i.name.partition("-")[0]  # kafka-2 is an instance of kafka
        health = "healthy" if i.answers else "DOWN"
        print(f"{service:<10} {i.name:<12} {i.pid or '-':>7} {i.port:>6}  {health:<8} {i.address}")
    for p in processes:
        url = f"http://127.0.0.1:{p.port}" if p.port else "-"
        health = "DOWN" if not p.healthy else "healthy" if p.not_ready is None else "NOTREADY"
        line = f"{p.service:<10} {p.instance:<12} {p.pid:>7} {p.port or '-':>6}  {health:<8} {url}"
        print(line if p.not_ready is None else f"{line}  ({p.not_ready})")


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
    platform = _platform()
    platform.stop(args.service)
    _refresh_targets(platform)
    print(f"{args.service}: stopped")
    return 0


def start(args: argparse.Namespace) -> int:
    platform = _platform()
    platform.start(args.service)
    _print_processes(platform.wait_healthy([args.service.removesuffix("_svc")]))
    _refresh_targets(platform)
    return 0


def scale(args: argparse.Namespace) -> int:
    name, _, count = args.spec.partition("=")
    if not count.isdigit():
        raise InfraError("write it as kitchen=<n>, e.g. just scale kitchen=3")
    platform = _platform()
    platform.scale(name, int(count))
    _print_processes(platform.wait_healthy([name]))
    _refresh_targets(platform)
    return 0


def _refresh_targets(platform: Platform) -> None:
    """Prometheus follows the kitchens that run now through its targets file."""
    kitchens = len(platform.pids("kitchen"))
    prometheus.write_targets(platform.settings, platform.infra, kitchens)


def lag(args: argparse.Namespace) -> int:
    rows = consumer_lag(InfraSettings())
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pizza-ctl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {}

    def command(
        name: str, handler: Callable[[argparse.Namespace], int], text: str
    ) -> argparse.ArgumentParser:
        handlers[name] = handler
        return commands.add_parser(name, help=text)

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
    args = parser.parse_args(argv)
    try:
        return handlers[args.command](args)
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
