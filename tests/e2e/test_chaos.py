"""`just chaos`, shortened: every fault kind hits a platform of its own, and afterwards
every invariant holds, that platform is gone, and the report says so."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pizza_infra.config import InfraSettings
from pizza_infra.ports import DEFAULT_PORTS
from pizza_infra.scenarios.chaos.plan import KINDS
from pizza_infra.servers.process import port_open
from tests import REPO_ROOT

pytestmark = pytest.mark.e2e

SEED = 20261127


def _chaos_offset() -> int:
    """Its own ports: beside the e2e platform (+1250 shares no port with it)."""
    configured = os.environ.get("PIZZA_E2E_CHAOS_PORT_OFFSET")
    if configured:
        return int(configured)
    return int(os.environ.get("PIZZA_E2E_PORT_OFFSET", "20000")) + 1250


@pytest.mark.timeout(1800)
def test_a_short_soak_injects_every_fault_kind_and_breaks_no_invariant(tmp_path: Path) -> None:
    offset = _chaos_offset()
    env = {
        **os.environ,
        "PIZZA_VAR_DIR": str(tmp_path),
        "PIZZA_CACHE_DIR": str(InfraSettings().cache_dir),
    }
    run = subprocess.run(
        ["just", "chaos", "--seconds", "60", "--seed", str(SEED), "--port-offset", str(offset)],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1700, check=False,
    )  # fmt: skip
    output = run.stdout[-6000:] + run.stderr[-3000:]
    # The soak's platform is stopped again, whatever the verdict.
    for name in ("ORDER_PORT", "KAFKA_PORT", "CIRCUS_PORT"):
        assert not port_open(DEFAULT_PORTS[name] + offset), name
    reports = list((tmp_path / "chaos").glob("chaos-*.json"))
    assert len(reports) == 1, output
    report = json.loads(reports[0].read_text())
    summary = report["summary"]

    assert report["config"]["seed"] == SEED
    assert set(report["faults_by_kind"]) == set(KINDS)
    missing = [kind for kind, count in report["faults_by_kind"].items() if count < 1]
    assert not missing, f"fault kinds never injected: {missing}\n{output}"
    last = run.stdout.strip().splitlines()[-1]
    assert last == (
        f"chaos: {summary['orders']} orders, {summary['faults']} faults, "
        f"{summary['violations']} violations"
    )
    assert summary["orders"] > 0
    assert report["orders_by_outcome"].get("accepted", 0) > 0
    broken = {i["name"]: i["violations"][:5] for i in report["invariants"] if i["violations"]}
    assert not broken, f"invariants broken: {json.dumps(broken, indent=1)}\n{output}"
    assert run.returncode == 0, output
