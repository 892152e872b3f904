"""The soak's verdict: a table for people, a JSON file for later, one line to grep."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

from pizza_infra.scenarios.chaos.faults import FaultRecord
from pizza_infra.scenarios.chaos.invariants import InvariantResult, violation_count
from pizza_infra.scenarios.chaos.model import ClientOrder
from pizza_infra.scenarios.chaos.plan import KINDS
from pizza_infra.scenarios.chaos.quiesce import Settling

SHOWN_PER_INVARIANT = 10


def summary_line(orders: int, faults: int, violations: int) -> str:
    return f"chaos: {orders} orders, {faults} faults, {violations} violations"


def injected(records: list[FaultRecord]) -> int:
    return sum(record.outcome == "injected" for record in records)


def table(
    records: list[FaultRecord],
    orders: list[ClientOrder],
    settling: Settling,
    results: list[InvariantResult],
) -> str:
    lines = [f"{'fault':<24} {'injected':>8} {'skipped':>8} {'failed':>7}"]
    counts = Counter((record.fault.kind, record.outcome) for record in records)
    for kind in KINDS:
        lines.append(
            f"  {kind:<22} {counts[(kind, 'injected')]:>8} {counts[(kind, 'skipped')]:>8} "
            f"{counts[(kind, 'failed')]:>7}"
        )
    lines += ["", f"{'orders by outcome':<24} {'count':>8}"]
    for outcome, count in Counter(order.outcome for order in orders).most_common():
        lines.append(f"  {outcome:<22} {count:>8}")
    state = "settled" if settling.settled else "NOT settled: " + ", ".join(settling.waiting_for)
    lines += ["", f"quiesce: {state} after {settling.seconds:.0f} s", ""]
    lines.append(f"{'invariant':<26} {'checked':>8} {'violations':>10}  promise")
    for result in results:
        lines.append(
            f"  {result.name:<24} {result.checked:>8} {len(result.violations):>10}  "
            f"{result.promise}"
        )
    broken = [result for result in results if result.violations]
    if broken:
        lines += ["", f"violations (at most {SHOWN_PER_INVARIANT} per invariant here):"]
        for result in broken:
            for violation in result.violations[:SHOWN_PER_INVARIANT]:
                lines.append(f"  {result.name}: {violation.subject}  {violation.detail}")
            hidden = len(result.violations) - SHOWN_PER_INVARIANT
            if hidden > 0:
                lines.append(f"  {result.name}: … {hidden} more")
    lines += ["", summary_line(len(orders), injected(records), violation_count(results))]
    return "\n".join(lines)


def report_json(
    *,
    config: dict[str, Any],
    records: list[FaultRecord],
    orders: list[ClientOrder],
    settling: Settling,
    results: list[InvariantResult],
) -> dict[str, Any]:
    return {
        "config": config,
        "summary": {
            "orders": len(orders),
            "faults": injected(records),
            "violations": violation_count(results),
        },
        "faults_by_kind": {
            kind: sum(r.fault.kind == kind and r.outcome == "injected" for r in records)
            for kind in KINDS
        },
        "faults": [
            {**dataclasses.asdict(record.fault), **_without_fault(record)} for record in records
        ],
        "orders_by_outcome": dict(Counter(order.outcome for order in orders)),
        "orders": [dataclasses.asdict(order) for order in orders],
        "quiesce": dataclasses.asdict(settling),
        "invariants": [
            {
                "name": result.name,
                "promise": result.promise,
                "checked": result.checked,
                "violations": [dataclasses.asdict(v) for v in result.violations],
            }
            for result in results
        ],
    }


def _without_fault(record: FaultRecord) -> dict[str, Any]:
    values = dataclasses.asdict(record)
    values.pop("fault")
    return values


def write_report(report: dict[str, Any], directory: Path, stamp: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"chaos-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    return path
