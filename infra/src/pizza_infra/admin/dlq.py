"""``pizza-ctl dlq-replay``: the command line's side of replaying dead letters.

The replay itself (reading ``<topic>.dlq``, the headers a replayed record carries,
producing to the source topic) is :mod:`pizza_common.kafka`'s, shared with the board's
Replay; here are the command's checks and words. Nothing is replayed unless named: by
partition and offset, or all of a topic's at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pizza_common import kafka as shared
from pizza_common.kafka import DLQ_SUFFIX, REPLAYED_FROM, DeadLetter, dlq_topics
from pizza_infra.config import InfraError

__all__ = [
    "DLQ_SUFFIX",
    "REPLAYED_FROM",
    "DeadLetter",
    "check_topic",
    "choose",
    "dlq_topics",
    "parse_positions",
    "read_dead_letters",
    "replay",
]


def check_topic(topic: str) -> None:
    if topic not in dlq_topics():
        raise InfraError(
            f"{topic} is not a dead-letter topic; these are: {', '.join(dlq_topics())}"
        )


def parse_positions(specs: Iterable[str]) -> set[tuple[int, int]]:
    """``3:17`` (partition 3, offset 17) for each dead letter to replay."""
    positions = set()
    for spec in specs:
        partition, _, offset = spec.partition(":")
        if not (partition.isdigit() and offset.isdigit()):
            raise InfraError(f"--offset takes <partition>:<offset>, like 0:12, not {spec!r}")
        positions.add((int(partition), int(offset)))
    return positions


def choose(
    letters: Sequence[DeadLetter], positions: set[tuple[int, int]], *, everything: bool
) -> list[DeadLetter]:
    """The dead letters asked for; asking for one that is not there is an error."""
    try:
        return shared.choose_dead_letters(letters, positions, everything=everything)
    except shared.NoSuchDeadLetter as exc:
        raise InfraError(f"no dead letter at {exc} (run without --offset to list them)") from exc


def read_dead_letters(client_config: dict[str, Any], topic: str) -> list[DeadLetter]:
    """Every retained committed record of ``topic``, oldest first per partition."""
    try:
        return shared.read_dead_letters(client_config, topic)
    except shared.ReplayError as exc:
        raise InfraError(str(exc)) from exc


def replay(client_config: dict[str, Any], letters: Sequence[DeadLetter]) -> None:
    """Each dead letter back on its source topic, acknowledged by every in-sync replica."""
    try:
        shared.replay_dead_letters(client_config, letters)
    except shared.ReplayError as exc:
        raise InfraError(str(exc)) from exc
