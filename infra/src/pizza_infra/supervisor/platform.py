"""The services as processes under circus: start, stop, scale and inspect them.

circus (a well-kept process manager) runs each service as a watcher; kitchen's watcher
has one process per instance, so scaling it is circus' own ``incr``/``decr``. Each
watcher's output goes to ``var/log/<service>.log`` (JSON lines that name their instance).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from circus.client import CircusClient
from circus.exc import CallError

from pizza_common.contracts import ORDER_PLACED
from pizza_infra.config import HOST, REPO_ROOT, InfraError, InfraSettings
from pizza_infra.identity import identity_env
from pizza_infra.kafka_access import replay_kafka_env, service_kafka_env
from pizza_infra.servers.process import running_pid
from pizza_infra.supervisor import prometheus
from pizza_infra.supervisor.services import (
    MAX_KITCHENS,
    MAX_PAYMENTS,
    SERVICES,
    START_ORDER,
    PlatformSettings,
    Service,
)

GRACEFUL_TIMEOUT_S = 30  # a kitchen may be in the middle of cooking


def circus_ini(
    platform: PlatformSettings, infra: InfraSettings, services: Sequence[str] = START_ORDER
) -> str:
    """The process manager's config: a watcher for each of ``services`` (default: all, and
    Prometheus when installed)."""
    python = sys.executable
    lines = [
        "[circus]",
        f"endpoint = {platform.circus_endpoint}",
        f"pubsub_endpoint = {platform.circus_pubsub_endpoint}",
        "statsd = False",
        "check_delay = 5",
        "",
    ]
    for name in services:
        service = SERVICES[name]
        command = f"{python} -m {service.module}"
        if service.scalable:
            command = f"{python} -m pizza_infra.supervisor.launch {name} --wid $(circus.wid)"
        if service.shared_socket:
            command += f" --fd $(circus.sockets.{name})"
            lines += [
                f"[socket:{name}]",
                f"host = {HOST}",
                f"port = {platform.service_port(name)}",
                "",
            ]
        log = infra.log_dir / f"{name}.log"
        lines += [
            f"[watcher:{name}]",
            f"cmd = {command}",
            f"numprocesses = {platform.instances(name)}",
            f"working_dir = {REPO_ROOT}",
            "copy_env = True",
            "stop_signal = SIGTERM",
            f"graceful_timeout = {GRACEFUL_TIMEOUT_S}",
            "stop_children = True",
            # A crashing service is restarted, but not forever in a tight loop.
            "max_retry = 5",
            "stdout_stream.class = FileStream",
            f"stdout_stream.filename = {log}",
            "stderr_stream.class = FileStream",
            f"stderr_stream.filename = {log}",
            *_socket_lines(service),
            "",
        ]
        wiring = _wiring(name, platform, infra)
        if wiring:
            lines += [f"[env:{name}]", *(f"{k} = {v}" for k, v in wiring.items()), ""]
    if tuple(services) == START_ORDER:
        lines += prometheus.watcher_lines(platform, infra)
    return "\n".join(lines)


def _socket_lines(service: Service) -> list[str]:
    """The instances inherit the shared socket; it exists only while the watcher runs."""
    if not service.shared_socket:
        return []
    return [
        "use_sockets = True",
        "hooks.before_start = pizza_infra.supervisor.circus_hooks.listen",
        "hooks.after_stop = pizza_infra.supervisor.circus_hooks.close",
    ]


def _wiring(name: str, platform: PlatformSettings, infra: InfraSettings) -> dict[str, str]:
    """How the services find each other, Kafka, the trace UI and their identity (payment:
    the issuer it trusts; the others: client id, secret, token URL, and their own Kafka
    principal), from the ports in use (unless set explicitly in the environment)."""
    wiring = {
        # Every broker: a service starting while one of them is down still finds the rest.
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap_servers,
        "OTEL_TRACES_EXPORTER": "zipkin",
        "OTEL_EXPORTER_ZIPKIN_ENDPOINT": f"{infra.zipkin_url}/api/v2/spans",
        **({"ORDER_PAYMENT_URL": platform.url("payment")} if name == "order" else {}),
        **(_board_wiring(platform, infra) if name == "board" else {}),
        **identity_env(infra, name, SERVICES[name].env_prefix),
        **service_kafka_env(infra, name),
    }
    return {key: value for key, value in wiring.items() if key not in os.environ}


def _board_wiring(platform: PlatformSettings, infra: InfraSettings) -> dict[str, str]:
    """The board watches what Prometheus scrapes (the targets file follows ``just scale``),
    links traces to Zipkin and searches the services' log files; replaying dead letters
    stays off unless BOARD_REPLAY_ENABLED is set, but its principal is ready."""
    return {
        **replay_kafka_env(infra),
        "BOARD_ORDER_URL": platform.url("order"),
        "BOARD_DELIVERY_URL": platform.url("delivery"),
        "BOARD_TARGETS_FILE": str(prometheus.targets_file(infra)),
        "BOARD_TRACE_URL": f"{infra.zipkin_url}/zipkin/traces/{{trace_id}}",
        "BOARD_LOG_DIR": str(infra.log_dir),
    }


@dataclass(frozen=True)
class ProcessInfo:
    service: str
    instance: str
    pid: int
    port: int | None
    healthy: bool
    # Why a live process cannot do its work now (its /ready answer), None while it can.
    not_ready: str | None = None


class Platform:
    def __init__(self, platform: PlatformSettings, infra: InfraSettings) -> None:
        self.settings = platform
        self.infra = infra
        self._client = CircusClient(endpoint=platform.circus_endpoint, timeout=10)

    # -- circus ---------------------------------------------------------------

    def _call(self, command: str, **properties: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = self._client.call(
                {"command": command, "properties": properties}
            )
        except CallError as exc:
            raise InfraError(
                f"the process manager does not answer on {self.settings.circus_endpoint}; "
                "run `just up`"
            ) from exc
        if answer.get("status") == "error":  # ("status" also answers with a watcher's state)
            raise InfraError(f"circus {command} failed: {answer.get('reason', answer)}")
        return answer

    def running(self) -> bool:
        # No circusd behind the pid file: say so at once, not after the client's timeout.
        if self._manager_pid() is None:
            return False
        try:
            self._call("list")
        except InfraError:
            return False
        return True

    def _manager_pid(self) -> int | None:
        pid_file = self.infra.run_dir / "circusd.pid"
        pid, _ = running_pid(pid_file, lambda args: any(a.endswith("circusd") for a in args))
        return pid

    def start_manager(self, services: Sequence[str] = START_ORDER) -> None:
        """Start circusd in the background with a watcher for each of ``services`` (default:
        all; idempotent)."""
        if self.running():
            return
        self.infra.run_dir.mkdir(parents=True, exist_ok=True)
        self.infra.log_dir.mkdir(parents=True, exist_ok=True)
        ini = self.infra.run_dir / "circus.ini"
        ini.unlink(missing_ok=True)
        ini.touch(mode=0o600)  # it holds the services' client secrets
        ini.write_text(circus_ini(self.settings, self.infra, services))
        subprocess.run(
            [
                str(Path(sys.executable).with_name("circusd")),
                "--daemon",
                "--log-output",
                str(self.infra.log_dir / "circus.log"),
                "--pidfile",
                str(self.infra.run_dir / "circusd.pid"),
                str(ini),
            ],
            check=True,
            env=os.environ,
        )
        deadline = time.monotonic() + 15
        while not self.running():
            if time.monotonic() > deadline:
                raise InfraError("circusd did not start; see var/log/circus.log")
            time.sleep(0.2)

    def quit(self) -> bool:
        """Stop every service (each gets SIGTERM and time to finish) and the manager."""
        if not self.running():
            return False
        # circus may close its control socket before it answers a quit: that is fine,
        # whether it is gone is checked below.
        with contextlib.suppress(InfraError):
            self._call("quit", waiting=True)
        pidfile = self.infra.run_dir / "circusd.pid"
        deadline = time.monotonic() + GRACEFUL_TIMEOUT_S + 10
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        pidfile.unlink(missing_ok=True)
        return True

    def start(self, name: str) -> None:
        watcher = name if name == prometheus.WATCHER else _service(name).name
        # Right after circusd starts it is busy starting every watcher and refuses other
        # commands for that moment: wait for it rather than fail.
        deadline = time.monotonic() + 30
        while True:
            try:
                self._call("start", name=watcher, waiting=True)
            except InfraError as exc:
                if "already running" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
            else:
                return

    def is_active(self, name: str) -> bool:
        return self._call("status", name=name).get("status") == "active"

    def stop(self, name: str) -> None:
        self._call("stop", name=_service(name).name, waiting=True)

    def scale(self, name: str, count: int) -> int:
        service = _service(name)
        if not service.scalable:
            raise InfraError(f"{name} runs as one instance; only kitchen and payment scale")
        if name == "kitchen" and not 0 <= count <= MAX_KITCHENS:
            raise InfraError(
                f"kitchen scales from 0 to {MAX_KITCHENS} instances "
                f"({ORDER_PLACED} has {MAX_KITCHENS} partitions)"
            )
        if name == "payment" and not 1 <= count <= MAX_PAYMENTS:
            # 0 would leave the shared socket listening with nobody behind it: just stop payment.
            raise InfraError(
                f"payment scales from 1 to {MAX_PAYMENTS} instances (to stop it: just stop payment)"
            )
        current = len(self.pids(name))
        if count == current:
            return count
        if self._call("status", name=name).get("status") != "active" and count > 0:
            self._call("start", name=name, waiting=True)
            current = len(self.pids(name))
        if count > current:
            self._call("incr", name=name, nb=count - current, waiting=True)
        elif count < current:
            self._call("decr", name=name, nb=current - count, waiting=True)
        return count

    def watchers(self) -> list[str]:
        """The platform's processes in start order, and Prometheus if it runs with them."""
        listed = self._call("list").get("watchers", [])
        return [name for name in (*START_ORDER, prometheus.WATCHER) if name in listed]

    def pids(self, name: str) -> list[int]:
        pids: list[int] = self._call("list", name=name, pids=True).get("pids", [])
        return sorted(pids)

    # -- processes --------------------------------------------------------------

    def processes(self) -> list[ProcessInfo]:
        found = []
        for name in self.watchers():
            if name == prometheus.WATCHER:
                listen, healthy = self.settings.prometheus_port, prometheus.healthy(self.settings)
                found += [ProcessInfo(name, name, pid, listen, healthy) for pid in self.pids(name)]
                continue
            service = SERVICES[name]
            for pid in self.pids(name):
                instance, port = _identity(pid, service, self.settings)
                healthy = _healthy(port)
                why = _not_ready(port) if healthy else None
                found.append(ProcessInfo(name, instance, pid, port, healthy, why))
        return found

    def wait_healthy(self, names: list[str] | None = None) -> list[ProcessInfo]:
        """Wait until every process of ``names`` (default: all) answers /health."""
        wanted = set(names or self.watchers())
        deadline = time.monotonic() + self.settings.start_timeout_s
        while True:
            processes = [p for p in self.processes() if p.service in wanted]
            expected = sum(self._expected(name) for name in wanted)
            if len(processes) == expected and all(p.healthy for p in processes):
                return processes
            if time.monotonic() > deadline:
                sick = [p.instance for p in processes if not p.healthy]
                raise InfraError(
                    f"not healthy after {self.settings.start_timeout_s:.0f} s: "
                    f"{', '.join(sick) or 'processes missing'}; see `just logs`"
                )
            time.sleep(0.3)

    def _expected(self, name: str) -> int:
        status = self._call("status", name=name).get("status")
        if status != "active":
            return 0
        options = self._call("options", name=name).get("options", {})
        return int(options.get("numprocesses", 1))


def _service(name: str) -> Service:
    service = SERVICES.get(name.removesuffix("_svc"))
    if service is None:
        raise InfraError(f"unknown service {name!r}; one of: {', '.join(SERVICES)}")
    return service


def _identity(pid: int, service: Service, settings: PlatformSettings) -> tuple[str, int | None]:
    """Instance id and port of a running process, from the environment it was given."""
    env: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            key, _, value = entry.decode(errors="replace").partition("=")
            env[key] = value
    instance = env.get(f"{service.env_prefix}INSTANCE") or service.instance or service.module
    if service.scalable and f"{service.env_prefix}INSTANCE" not in env:
        return "(starting)", None  # still the launcher: its id and port are not set yet
    try:
        port = int(env.get(f"{service.env_prefix}PORT") or settings.port(service.name))
    except ValueError:
        port = None
    return instance, port


def _not_ready(port: int | None) -> str | None:
    """The failing checks of ``/ready`` in a few words; None when ready (or no such page)."""
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)
    except httpx.HTTPError as exc:
        return f"/ready did not answer: {type(exc).__name__}"
    if answer.status_code in (200, 404):
        return None
    try:
        checks = answer.json().get("checks", {})
    except ValueError:
        return f"/ready answered {answer.status_code}"
    return "; ".join(f"{name}: {why}" for name, why in checks.items()) or "not ready"


def _healthy(port: int | None) -> bool:
    if port is None:
        return False
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
