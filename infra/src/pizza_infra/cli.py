"""``pizza-infra``: start, stop and inspect the local Kafka and schema registry.

Every command is idempotent and prints what it did; problems the user must fix exit 1
with one clear sentence.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from confluent_kafka.schema_registry import SchemaRegistryClient

from pizza_common.avro import registry_client
from pizza_infra.admin.schemas import check_all, register_all
from pizza_infra.admin.topics import apply_topics, describe_topics, load_topics
from pizza_infra.config import InfraError, InfraSettings
from pizza_infra.servers import stack
from pizza_infra.servers.kafka import (
    start_broker,
    stop_broker,
)
from pizza_infra.servers.registry import registry_answers


def up(settings: InfraSettings) -> int:
    stack.up(settings)
    return 0


def down(settings: InfraSettings) -> int:
    stack.down(settings)
    return 0


def status(settings: InfraSettings) -> int:
    rows = stack.statuses(settings)
    for row in rows:
        print(f"{row.name:<9} {row.state:<18} pid={row.pid or '-':<8} {row.address}")
    return 0 if all(row.answers for row in rows) else 1


def topics(settings: InfraSettings) -> int:
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


def broker(settings: InfraSettings, action: str, node_id: int, kill: bool) -> int:
    """Stop, kill or start one Kafka node while the others run."""
    if action == "start":
        done = start_broker(settings, node_id)
        print(f"kafka node {node_id}: {'started' if done else 'was running'}")
    else:
        done = stop_broker(settings, node_id, kill=kill)
        verb = "killed" if kill else "stopped"
        print(f"kafka node {node_id}: {verb if done else 'was not running'}")
    return 0


def topics_apply(settings: InfraSettings) -> int:
    for change in apply_topics(settings, load_topics(settings)) or ["topics up to date"]:
        print(change)
    return 0


def _registry(settings: InfraSettings) -> SchemaRegistryClient:
    if not registry_answers(settings):
        raise InfraError(
            f"the schema registry does not answer at {settings.schema_registry_url}; "
            "run `just infra-up`"
        )
    return registry_client(settings.schema_registry_url)


def schemas_register(settings: InfraSettings, directory: Path | None) -> int:
    for entry in register_all(_registry(settings), directory):
        print(f"{entry.subject:<22} version {entry.version:<3} id {entry.schema_id}")
    return 0


def schemas_check(settings: InfraSettings, directory: Path | None) -> int:
    results = check_all(_registry(settings), directory)
    for result in results:
        print(
            f"{result.subject:<22} {result.verdict}{': ' + result.detail if result.detail else ''}"
        )
    return 0 if all(result.ok for result in results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pizza-infra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    simple: dict[str, Callable[[InfraSettings], int]] = {
        "up": up,
        "down": down,
        "status": status,
        "topics": topics,
        "topics-apply": topics_apply,
    }
    helps = {
        "up": "start Kafka, the schema registry and Zipkin (fetching them the first time)",
        "down": "stop them",
        "status": "say whether each answers (exit 1 if not)",
        "topics": "list the platform's topics with partitions and end offsets",
        "topics-apply": "create or update topics from infra/topics.toml",
    }
    for name in simple:
        commands.add_parser(name, help=helps[name])
    for name, text in (
        ("schemas-register", "register the Avro schemas in schemas/"),
        ("schemas-check", "fail if a schema is incompatible with what is registered"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--schemas-dir", type=Path, default=None, help="default: schemas/")
    sub = commands.add_parser("broker", help="stop, kill or start one Kafka node")
    sub.add_argument("action", choices=["stop", "start"])
    sub.add_argument("node", type=int, help="node id, 1 to KAFKA_NODES")
    sub.add_argument("--kill", action="store_true", help="SIGKILL instead of a clean stop")
    args = parser.parse_args(argv)
    settings = InfraSettings()
    try:
        if args.command in simple:
            return simple[args.command](settings)
        if args.command == "broker":
            return broker(settings, args.action, args.node, args.kill)
        if args.command == "schemas-register":
            return schemas_register(settings, args.schemas_dir)
        return schemas_check(settings, args.schemas_dir)
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
