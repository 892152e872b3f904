"""The report: every fault kind counted, violations shown, and the summary line last."""

from __future__ import annotations

from pizza_infra.scenarios.chaos.faults import FaultRecord
from pizza_infra.scenarios.chaos.invariants import InvariantResult, Violation
from pizza_infra.scenarios.chaos.model import ClientOrder
from pizza_infra.scenarios.chaos.plan import KINDS, Fault
from pizza_infra.scenarios.chaos.quiesce import Settling
from pizza_infra.scenarios.chaos.report import report_json, table

RECORDS = [
    FaultRecord(Fault(1.0, "kill:order", "order"), "injected", 1.0, 1.1, "SIGKILL"),
    FaultRecord(Fault(2.0, "kill:kitchen", "kitchen-2"), "skipped", 2.0, 2.0, "not running"),
    FaultRecord(Fault(3.0, "restart:broker", "broker-1", 2.0), "injected", 3.0, 9.0, "ok"),
]
ORDERS = [
    ClientOrder("k1", "accepted", "o-1"),
    ClientOrder("k2", "accepted", "o-2"),
    ClientOrder("k3", "unavailable", "o-3", 10),
]
RESULTS = [
    InvariantResult("orders_charged", "no accepted order without its charge", 2, []),
    InvariantResult(
        "charges_belong_to_orders",
        "every approved charge belongs to an accepted order",
        3,
        [Violation("pay-3", "approved for order o-3 (payment_unavailable)")],
    ),
]


def test_the_table_ends_with_the_summary_line() -> None:
    text = table(RECORDS, ORDERS, Settling(True, 12.0), RESULTS)
    lines = text.splitlines()
    assert lines[-1] == "chaos: 3 orders, 2 faults, 1 violations"
    assert "charges_belong_to_orders: pay-3  approved for order o-3 (payment_unavailable)" in text
    assert any(line.split() == ["kill:kitchen", "0", "1", "0"] for line in lines)
    assert any(line.split() == ["accepted", "2"] for line in lines)


def test_the_json_report_counts_every_kind() -> None:
    report = report_json(
        config={"seed": 1},
        records=RECORDS,
        orders=ORDERS,
        settling=Settling(False, 180.0, ["consumer lag 3"]),
        results=RESULTS,
    )
    assert report["summary"] == {"orders": 3, "faults": 2, "violations": 1}
    assert set(report["faults_by_kind"]) == set(KINDS)
    assert report["faults_by_kind"]["restart:broker"] == 1
    assert report["faults_by_kind"]["kill:kitchen"] == 0
    assert report["orders_by_outcome"] == {"accepted": 2, "unavailable": 1}
    assert report["quiesce"]["waiting_for"] == ["consumer lag 3"]
    assert report["invariants"][1]["violations"] == [
        {"subject": "pay-3", "detail": "approved for order o-3 (payment_unavailable)"}
    ]
