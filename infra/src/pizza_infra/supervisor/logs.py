"""Reading the services' JSON log files as one stream, each line prefixed by its instance."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SKIP = {"timestamp", "level", "event", "service", "instance"}


@dataclass(frozen=True)
class LogLine:
    timestamp: str
    instance: str
    text: str


def parse(line: str, fallback_instance: str) -> LogLine:
    try:
        record: Any = json.loads(line)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        return LogLine("", fallback_instance, line.rstrip("\n"))
    extras = " ".join(f"{k}={v}" for k, v in record.items() if k not in SKIP)
    level = str(record.get("level", "")).upper()
    text = f"{level:<7} {record.get('event', '')}" + (f"  {extras}" if extras else "")
    return LogLine(
        str(record.get("timestamp", "")), str(record.get("instance", fallback_instance)), text
    )


def merged(files: dict[str, Path], last: int) -> list[LogLine]:
    """The last ``last`` lines of all files together, in time order."""
    lines: list[LogLine] = []
    for name, path in files.items():
        if path.exists():
            for line in path.read_text(errors="replace").splitlines()[-last:]:
                lines.append(parse(line, name))
    lines.sort(key=lambda line: line.timestamp)
    return lines[-last:]


def follow(files: dict[str, Path], poll_s: float = 0.3) -> Iterator[LogLine]:
    """New lines as they are written (until interrupted)."""
    positions = {name: path.stat().st_size if path.exists() else 0 for name, path in files.items()}
    while True:
        for name, path in files.items():
            if not path.exists():
                continue
            with path.open(errors="replace") as handle:
                handle.seek(positions[name])
                for line in handle:
                    yield parse(line, name)
                positions[name] = handle.tell()
        time.sleep(poll_s)


def render(line: LogLine, width: int = 12) -> str:
    return f"{line.instance:<{width}} | {line.text}"
