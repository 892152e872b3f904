"""The house rules of docs/architecture.md, checked on the imports of every module.

Read from the source with ``ast`` (nothing is imported), so a rule broken anywhere, even
in a module no test loads, fails here with the file and the import that broke it.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import REPO_ROOT

SERVICES = ("order_svc", "payment_svc", "kitchen_svc", "delivery_svc")
# Every service has these, under these names (docs/architecture.md, "One house").
HOUSE_FILES = (
    "domain.py",
    "service.py",
    "store.py",
    "tables.py",
    "api.py",
    "api_models.py",
    "app.py",
    "settings.py",
    "metrics.py",
    "migrations",
)
CONSUMERS = ("kitchen_svc", "delivery_svc")  # these also have handlers.py
# What a domain module may import from the standard library: values, no I/O.
PURE_STDLIB = frozenset(
    {
        "__future__",
        "collections",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "functools",
        "hashlib",
        "itertools",
        "json",
        "math",
        "random",
        "re",
        "types",
        "typing",
        "uuid",
    }
)


@dataclass(frozen=True)
class Import:
    module: str  # the absolute name of what is imported
    line: int


@dataclass(frozen=True)
class Module:
    name: str  # e.g. order_svc.domain
    path: Path
    imports: tuple[Import, ...]

    @property
    def package(self) -> str:
        return self.name.split(".")[0]

    def where(self, imported: Import) -> str:
        return f"{self.path.relative_to(REPO_ROOT)}:{imported.line} imports {imported.module}"


def _imports(tree: ast.Module, name: str) -> Iterator[Import]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = name.split(".")[: -node.level]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield Import(module, node.lineno)
            for alias in node.names:  # ``from pkg import module`` imports the module too
                yield Import(f"{module}.{alias.name}", node.lineno)


def _modules(source_root: Path) -> list[Module]:
    found = []
    for path in sorted(source_root.rglob("*.py")):
        if "versions" in path.parts:  # alembic revisions: generated, sqlalchemy only
            continue
        parts = path.relative_to(source_root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found.append(Module(name, path, tuple(_imports(tree, name))))
    return found


# The web board is an application, not a service of the domain: none of the house files,
# but the same rule: it reads the others' public APIs and imports only the shared package.
APPS = ("board_svc",)

SOURCE_ROOTS = {
    "pizza_common": REPO_ROOT / "common" / "src",
    "board_svc": REPO_ROOT / "board_svc" / "src",
    "pizza_infra": REPO_ROOT / "infra" / "src",
    **{service: REPO_ROOT / service / "src" for service in SERVICES},
}
MODULES = [module for root in SOURCE_ROOTS.values() for module in _modules(root)]
FIRST_PARTY = frozenset(SOURCE_ROOTS)


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_tree_is_read() -> None:
    assert {module.package for module in MODULES} == FIRST_PARTY
    assert len(MODULES) > 50


def test_no_service_imports_another_service_or_the_dev_tooling() -> None:
    broken = [
        module.where(imported)
        for module in MODULES
        if module.package in (*SERVICES, *APPS)
        for imported in module.imports
        if _top(imported.module) in FIRST_PARTY - {module.package, "pizza_common"}
    ]
    assert broken == []


def test_the_shared_package_imports_no_service() -> None:
    broken = [
        module.where(imported)
        for module in MODULES
        if module.package == "pizza_common"
        for imported in module.imports
        if _top(imported.module) in FIRST_PARTY - {"pizza_common"}
    ]
    assert broken == []


def test_only_the_shared_package_reaches_into_its_private_modules() -> None:
    def private(name: str) -> bool:
        return name.startswith("pizza_common.") and any(
            part.startswith("_") and not part.startswith("__") for part in name.split(".")
        )

    broken = [
        module.where(imported)
        for module in MODULES
        if module.package != "pizza_common"
        for imported in module.imports
        if private(imported.module)
    ]
    assert broken == []


def test_services_reach_kafka_only_through_the_shared_package() -> None:
    """One Kafka client configuration, one consumer loop: no service talks to
    confluent-kafka on its own."""
    broken = [
        module.where(imported)
        for module in MODULES
        if module.package in SERVICES
        for imported in module.imports
        if _top(imported.module) == "confluent_kafka"
    ]
    assert broken == []


def test_kafka_python_stays_in_the_board_s_adapter() -> None:
    """kafka-python ships no types: its untyped surface stays in the one module that
    needs it (DescribeLogDirs, which confluent-kafka lacks)."""
    broken = [
        module.where(imported)
        for module in MODULES
        if module.name != "board_svc.log_dirs"
        for imported in module.imports
        if _top(imported.module) == "kafka"
    ]
    assert broken == []


def test_no_service_imports_the_test_fakes() -> None:
    broken = [
        module.where(imported)
        for module in MODULES
        if module.package != "pizza_common"
        for imported in module.imports
        if imported.module.startswith("pizza_common.testing")
    ]
    assert broken == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_house_files(service: str) -> None:
    package = REPO_ROOT / service / "src" / service
    expected = [*HOUSE_FILES, *(["handlers.py"] if service in CONSUMERS else [])]
    assert [name for name in expected if not (package / name).exists()] == []
    for name in ("README.md", "Dockerfile"):
        assert (REPO_ROOT / service / name).is_file(), f"{service}/{name} is missing"


def _pure_problems(module: Module, seen: set[str]) -> list[str]:
    """Why ``module`` is not pure: each import that is neither a value of the standard
    library, the shared contracts, nor another pure module of its own service."""
    problems = []
    for imported in module.imports:
        top = _top(imported.module)
        if top in PURE_STDLIB or imported.module.startswith("pizza_common.contracts"):
            continue
        if imported.module == "pizza_common":  # ``from pizza_common import contracts``
            continue
        if top == module.package:
            own = _own_module(imported.module)
            if own is None or own.name in seen:
                continue
            seen.add(own.name)
            problems += _pure_problems(own, seen)
            continue
        problems.append(module.where(imported))
    return problems


def _own_module(name: str) -> Module | None:
    """The module ``name`` names, or the module holding the attribute it names."""
    by_name = {module.name: module for module in MODULES}
    return by_name.get(name) or by_name.get(name.rpartition(".")[0])


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_is_pure(service: str) -> None:
    domain = _own_module(f"{service}.domain")
    assert domain is not None
    assert _pure_problems(domain, {domain.name}) == []


@pytest.mark.parametrize("service", SERVICES)
def test_http_models_stay_at_the_edge(service: str) -> None:
    """Only the HTTP adapter knows the HTTP models: the domain, the use cases, the store
    and the handlers speak in domain values."""
    edge = {f"{service}.api", f"{service}.api_models", f"{service}.app"}
    broken = [
        module.where(imported)
        for module in MODULES
        if module.package == service and module.name not in edge
        for imported in module.imports
        if imported.module.startswith(f"{service}.api")
    ]
    assert broken == []


def _needs_kafka(package_dir: Path) -> bool:
    project = tomllib.loads((package_dir / "pyproject.toml").read_text())["project"]
    return any(
        dep.startswith("pizza-common[") and "kafka" in dep.split("[", 1)[1].split("]")[0].split(",")
        for dep in project["dependencies"]
    )


def test_only_services_that_install_kafka_import_it() -> None:
    without = [service for service in SERVICES if not _needs_kafka(REPO_ROOT / service)]
    assert without == ["payment_svc"]  # payment talks HTTP only: no librdkafka in its image
    broken = [
        module.where(imported)
        for module in MODULES
        if module.package in without
        for imported in module.imports
        if imported.module.startswith(("confluent_kafka", "pizza_common.kafka"))
    ]
    assert broken == []


def test_the_rules_catch_what_they_forbid(tmp_path: Path) -> None:
    """The checks above on a made-up impure domain: they must see each broken rule."""
    text = "import sqlite3\nfrom order_svc.api_models import OrderIn\nfrom kitchen_svc import x\n"
    path = REPO_ROOT / "order_svc" / "src" / "order_svc" / "domain.py"
    fake = Module("order_svc.domain", path, tuple(_imports(ast.parse(text), "order_svc.domain")))
    problems = _pure_problems(fake, {fake.name})
    assert any("sqlite3" in problem for problem in problems)
    assert any("kitchen_svc" in problem for problem in problems)
    assert _top("kitchen_svc.x") in FIRST_PARTY - {"order_svc", "pizza_common"}
