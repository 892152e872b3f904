"""The load: ``hey``, a compiled HTTP load generator, so that the load does not eat the
CPU it measures (a Python load generator took a quarter of a core at 70 requests/s).

Debian's ``hey`` is used when installed; otherwise it is compiled from its Go module
into the cache on first use.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pizza_infra.config import InfraError, InfraSettings
from pizza_infra.go_tools import GoTool, go_tool

HEY = GoTool("hey", "github.com/rakyll/hey", "v0.1.4")


def hey_binary(settings: InfraSettings) -> Path:
    installed = shutil.which("hey")
    return Path(installed) if installed else go_tool(HEY, settings.cache_dir / "go-tools")


@dataclass(frozen=True, slots=True)
class LoadStats:
    """What one run of the load generator saw."""

    concurrency: int
    seconds: float
    statuses: dict[int, int]
    latencies_ms: tuple[float, ...]  # of the answers with the expected status, sorted

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def per_s(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)

    def summary(self) -> dict[str, object]:
        return {
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 2),
            "answers_by_status": {str(k): v for k, v in sorted(self.statuses.items())},
            "ok_per_s": round(self.per_s, 1),
            "latency_ms": {f"p{p}": round(self.percentile(p), 2) for p in (50, 90, 99)},
        }


def percentile(ordered: tuple[float, ...] | list[float], p: float) -> float:
    """The nearest-rank percentile of already sorted values (NaN when there are none)."""
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def parse_hey_csv(text: str, concurrency: int, expected: int) -> LoadStats:
    """hey's ``-o csv`` output: one row per request (seconds, ..., status-code, offset)."""
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    end = 0.0
    for row in csv.DictReader(io.StringIO(text)):
        try:
            status, took = int(row["status-code"]), float(row["response-time"])
            offset = float(row["offset"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InfraError(f"hey printed a row that is not a result: {row}") from exc
        statuses[status] += 1
        end = max(end, offset + took)
        if status == expected:
            latencies.append(took * 1000)
    return LoadStats(concurrency, end, dict(statuses), tuple(sorted(latencies)))


def run_hey(
    binary: Path,
    url: str,
    *,
    body: Path,
    concurrency: int,
    seconds: float,
    expected: int = 201,
    headers: dict[str, str] | None = None,
) -> LoadStats:
    """POST ``body`` to ``url`` from ``concurrency`` connections for ``seconds``."""
    command = [
        str(binary), "-z", f"{seconds}s", "-c", str(concurrency), "-m", "POST",
        "-T", "application/json", "-D", str(body), "-o", "csv",
    ]  # fmt: skip
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    if result.returncode != 0:
        raise InfraError(f"hey failed: {result.stderr.strip()[-500:]}")
    return parse_hey_csv(result.stdout, concurrency, expected)
