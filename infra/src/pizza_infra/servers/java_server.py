"""One declarative spec for every Java server the platform runs locally, and the one
start, stop and status implementation that Kafka (one node or several), Apicurio
Registry, Zipkin and Keycloak share.

A server is started in the background with a marker argument on its command line, found
again through its pid file (:class:`~pizza_infra.servers.process.ServerProcess`), and
counts as started once its readiness probe answers. One that runs but stays silent past
its bound is hung: ``start_servers`` kills it and starts it anew.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pizza_infra.config import InfraError, InfraSettings
from pizza_infra.servers.java import find_java
from pizza_infra.servers.process import ServerProcess, port_open


@dataclass(frozen=True)
class JavaServer:
    """What to fetch, how to run it, where it listens and how to tell that it answers."""

    process: ServerProcess  # its name, pid file (var/run) and log file (var/log)
    title: str  # what is fetched and run, e.g. "Zipkin 3.6.1"
    min_java: int
    fetch: Callable[[], Path]  # the artifact (a jar, an app or lib folder), fetched once
    jvm_options: tuple[str, ...]  # heap and the like; the marker follows them
    main: Callable[[Path], list[str]]  # from the artifact: "-jar x.jar ..." or "-cp ... Main"
    ports: tuple[int, ...]  # must be free before it starts
    port_settings: str  # the variables that move those ports, for the error message
    answers: Callable[[], bool]  # the readiness probe
    address: str  # where it answers, as `status` and `just ps` show it
    env: Mapping[str, str] = field(default_factory=dict)
    # More environment, asked for only when it starts: secrets are generated on the first
    # start, never by a look at its status.
    secret_env: Callable[[], Mapping[str, str]] | None = None
    workdir: Path | None = None  # None: the artifact's folder
    # Run before each start with (java, artifact): write config, format storage, ...
    prepare: Callable[[Path, Path], None] | None = None

    @property
    def name(self) -> str:
        return self.process.name

    def command(self, java: Path, artifact: Path) -> list[str]:
        return [str(java), *self.jvm_options, self.process.marker, *self.main(artifact)]


@dataclass(frozen=True)
class ServerStatus:
    """One server process as `status` and `just ps` show it."""

    name: str
    pid: int | None
    port: int
    address: str
    answers: bool

    @property
    def state(self) -> str:
        return "up" if self.answers else ("starting or stuck" if self.pid else "down")


def status(server: JavaServer) -> ServerStatus:
    return ServerStatus(
        server.name, server.process.pid(), server.ports[0], server.address, server.answers()
    )


@dataclass(frozen=True)
class Started:
    """What ``start_servers`` did: the servers it started, those it replaced (hung), and
    how many it was given."""

    started: list[str]
    replaced: list[str]
    count: int

    def summary(self, label: str, title: str, where: str) -> str:
        """One line: e.g. "Zipkin already running on ...", "Zipkin 3.6.1 started on ..."."""
        if not self.started and not self.replaced:
            return f"{label} already running on {where}"
        if self.replaced and self.count == 1:
            return f"{title} replaced a hung {label} on {where}"
        if self.replaced:
            names = ", ".join(self.replaced)
            return f"{title} on {where}: replaced {names}, which ran but did not answer"
        if len(self.started) < self.count:
            return f"{title} on {where}: started {', '.join(self.started)}"
        return f"{title} started on {where}"


def start_servers(
    servers: Sequence[JavaServer],
    settings: InfraSettings,
    *,
    together: Callable[[], bool] | None = None,
    wait: bool = True,
) -> Started:
    """Start each of ``servers`` that does not run, replace each that runs but does not
    answer, then wait until every one answers and, if given, ``together`` (a cluster's
    own check) holds.

    The missing ones start all at once: a Kafka node answers only once a quorum runs.
    """
    javas: dict[int, Path] = {}

    def launch(server: JavaServer) -> None:
        for port in server.ports:
            if port_open(port):
                raise InfraError(
                    f"port {port} ({server.name}) is taken by another process; stop it or set "
                    f"{server.port_settings}"
                )
        artifact = server.fetch()
        if server.min_java not in javas:
            javas[server.min_java] = find_java(server.min_java, server.title)
        java = javas[server.min_java]
        if server.prepare is not None:
            server.prepare(java, artifact)
        env = {**server.env, **(server.secret_env() if server.secret_env else {})}
        workdir = server.workdir or artifact
        server.process.start(server.command(java, artifact), env=env, cwd=workdir)

    running = [s for s in servers if s.process.pid() is not None]
    started = [s for s in servers if s not in running]
    for server in started:
        launch(server)
    replaced = []
    for server in running:
        outcome = server.process.settle(
            server.answers,
            start_timeout_s=settings.start_timeout_s,
            # Servers just started may be needed for a quorum: give them their time.
            answer_timeout_s=settings.start_timeout_s if started else settings.answer_timeout_s,
        )
        if outcome == "hung":
            launch(server)
            replaced.append(server.name)
        elif outcome == "not running":  # exited meanwhile
            launch(server)
            started.append(server)
    if wait:
        wait_answering(servers, settings.start_timeout_s, together)
    return Started([s.name for s in started], replaced, len(servers))


def wait_answering(
    servers: Sequence[JavaServer], timeout_s: float, together: Callable[[], bool] | None = None
) -> None:
    """Until each of ``servers`` answers, then ``together`` holds, all within ``timeout_s``.

    ``together`` is asked only once every server answers: a Kafka client keeps connecting
    to every bootstrap address, also to ports not listening yet.
    """
    deadline = time.monotonic() + timeout_s
    for server in servers:
        time_left = max(1.0, deadline - time.monotonic())
        server.process.wait_ready(server.answers, time_left)
    if together is not None and servers:
        time_left = max(1.0, deadline - time.monotonic())
        servers[0].process.wait_ready(together, time_left)
