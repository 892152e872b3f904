"""The whole platform up and down, as ``just up`` and ``just down`` do: the local
infrastructure and schemas first, then every service under circus, until each answers."""

from __future__ import annotations

from collections.abc import Callable

from pizza_common.kafka import registry_client
from pizza_infra.admin.schemas import register_all
from pizza_infra.config import InfraSettings
from pizza_infra.servers import keycloak, stack
from pizza_infra.servers.java_server import ServerStatus
from pizza_infra.supervisor import prometheus
from pizza_infra.supervisor.platform import Platform, ProcessInfo
from pizza_infra.supervisor.services import PlatformSettings

Say = Callable[[str], None]


def current() -> Platform:
    """The platform the environment describes (ports, counts, folders)."""
    return Platform(PlatformSettings(), InfraSettings())


def up(say: Say = print) -> int:
    """Start infra, register the schemas, start every service; wait until all answer."""
    infra = InfraSettings()
    platform = current()

    def start_services() -> None:
        for entry in register_all(registry_client(infra.schema_registry_url)):
            say(f"schema {entry.subject} version {entry.version}")
        prometheus.write_targets(platform.settings, infra, platform.settings.kitchens)
        platform.start_manager()
        for name in platform.watchers():  # all watchers, also those stopped before
            if not platform.is_active(name) and (name != "kitchen" or platform.settings.kitchens):
                platform.start(name)

    stack.up(infra, say, meanwhile=start_services)
    processes = platform.wait_healthy()
    refresh_targets(platform)
    say("")
    for line in process_table(processes):
        say(line)
    say("")
    say(f"kafka              {infra.bootstrap_servers}")
    payments = len(platform.pids("payment"))
    say(f"payment API        {platform.settings.url('payment')}  ({payments} instances)")
    say(f"schema registry    {infra.schema_registry_url}")
    say(f"web board          {platform.settings.url('board')}")
    say(f"order API          {platform.settings.url('order')}/schema  (OpenAPI UI)")
    say(f"consumer lag       {platform.settings.url('monitor')}/metrics")
    say(f"traces (Zipkin)    {infra.zipkin_url}/zipkin/")
    if infra.keycloak_enabled:
        say(f"Keycloak console   {keycloak.admin_hint(infra)}")
    if prometheus.binary() is None:
        say(prometheus.INSTALL_HINT)
    elif prometheus.WATCHER in platform.watchers():
        say(f"prometheus         {prometheus.url(platform.settings)}")
    else:
        say("prometheus: installed since the platform started; just down && just up adds it")
    say("\nPlace an order: just order    Watch: just logs    Stop: just down")
    return 0


def down(say: Say = print) -> int:
    """Stop every service, then the infrastructure."""
    platform = current()
    say("services: " + ("stopped" if platform.quit() else "were not running"))
    stack.down(platform.infra, say)
    return 0


def refresh_targets(platform: Platform) -> None:
    """Prometheus follows the kitchens that run now through its targets file."""
    kitchens = len(platform.pids("kitchen"))
    prometheus.write_targets(platform.settings, platform.infra, kitchens)


def process_table(
    processes: list[ProcessInfo], servers: list[ServerStatus] | None = None
) -> list[str]:
    """The lines of `just ps`: the infrastructure's servers, then every process."""
    lines = [f"{'service':<10} {'instance':<12} {'pid':>7} {'port':>6}  health   url"]
    for s in servers or []:
        service = s.name.partition("-")[0]  # kafka-2 is an instance of kafka
        health = "healthy" if s.answers else "DOWN"
        lines.append(
            f"{service:<10} {s.name:<12} {s.pid or '-':>7} {s.port:>6}  {health:<8} {s.address}"
        )
    for p in processes:
        url = f"http://127.0.0.1:{p.port}" if p.port else "-"
        health = "DOWN" if not p.healthy else "healthy" if p.not_ready is None else "NOTREADY"
        line = f"{p.service:<10} {p.instance:<12} {p.pid:>7} {p.port or '-':>6}  {health:<8} {url}"
        lines.append(line if p.not_ready is None else f"{line}  ({p.not_ready})")
    return lines
