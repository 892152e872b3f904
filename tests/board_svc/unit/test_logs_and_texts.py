"""Searching the services' JSON logs for an order, the board's texts in German and English,
the metrics it reads, the processes it watches and the tracking steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from board_svc.i18n import TEXTS, pick_language, texts
from board_svc.log_search import search_lines, search_logs, services_of
from board_svc.metrics_text import OrderCounts, OrderRates, by_label, single
from board_svc.pages import whole_number
from board_svc.platform_api import trace_id_of
from board_svc.targets import load_targets, parse_file_sd, parse_targets
from board_svc.tracking import tracking_view

ORDER = "6d07a721-8882-4cae-9be6-4b674508bde3"


def _line(service: str, event: str, at: str, **fields: str) -> str:
    record = {"service": service, "instance": service, "event": event, "timestamp": at}
    return json.dumps({**record, "level": "info", **fields})


def test_log_lines_mentioning_the_order_are_found_in_every_file_in_time_order(
    tmp_path: Path,
) -> None:
    (tmp_path / "order.log").write_text(
        _line("order_svc", "order accepted", "2026-01-01T10:00:01Z", order_id=ORDER)
        + "\n"
        + _line("order_svc", "other order", "2026-01-01T10:00:02Z", order_id="x")
        + "\n"
    )
    (tmp_path / "kitchen.log").write_text(
        _line("kitchen_svc", "cooking", "2026-01-01T10:00:00Z", detail=f"order {ORDER}")
        + "\nnot json but about "
        + ORDER
        + "\n"
    )
    hits = search_logs(tmp_path, ORDER)
    assert [hit.event for hit in hits] == [
        f"not json but about {ORDER}",
        "cooking",
        "order accepted",
    ]
    assert services_of(hits) == ["kitchen", "kitchen_svc", "order_svc"]
    assert f"order_id={ORDER}" in hits[-1].fields


def test_no_folder_or_no_needle_finds_nothing(tmp_path: Path) -> None:
    assert search_logs(tmp_path / "missing", ORDER) == []
    assert search_logs(tmp_path, "") == []
    assert search_lines("x", ["{}"], "absent") == []


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("de-CH,de;q=0.9,en;q=0.8", "de"),
        ("en-GB,de;q=0.5", "en"),
        ("fr-FR,de;q=0.3", "de"),
        ("fr-FR", "en"),
        (None, "en"),
        ("de;q=0,en;q=0.1", "en"),
    ],
)
def test_the_language_follows_the_browser(header: str | None, language: str) -> None:
    assert pick_language(header) == language


def test_every_text_exists_in_both_languages() -> None:
    assert all(set(value) == {"de", "en"} and all(value.values()) for value in TEXTS.values())
    assert texts("de")["place_order"] == "Bestellen"


METRICS = """# HELP pizza_orders_total Orders placed, by outcome
# TYPE pizza_orders_total counter
pizza_orders_total{outcome="accepted"} 10.0
pizza_orders_total{outcome="declined"} 2.0
# TYPE pizza_outbox_backlog gauge
pizza_outbox_backlog 3.0
"""


def test_order_counts_and_gauges_are_read_from_the_metrics_text() -> None:
    assert by_label(METRICS, "pizza_orders_total", "outcome") == {"accepted": 10.0, "declined": 2.0}
    assert single(METRICS, "pizza_outbox_backlog") == 3.0
    assert single(METRICS, "pizza_payment_circuit_open") is None


def test_orders_per_minute_come_from_the_counters_growth() -> None:
    rates = OrderRates(window_s=60)
    assert rates.per_minute() == {}
    rates.add(OrderCounts(0.0, {"accepted": 10.0, "declined": 2.0}))
    rates.add(OrderCounts(30.0, {"accepted": 25.0, "declined": 2.0}))
    assert rates.per_minute() == {"accepted": 30.0, "declined": 0.0}
    rates.add(OrderCounts(45.0, {"accepted": 1.0, "declined": 0.0}))  # order_svc restarted
    assert rates.per_minute()["accepted"] == pytest.approx(1.3)


def test_targets_come_from_the_setting_or_prometheus_file(tmp_path: Path) -> None:
    spec = "order=http://127.0.0.1:8001/, kitchen/kitchen-2=http://127.0.0.1:8012,broken"
    assert [(t.job, t.instance, t.url) for t in parse_targets(spec)] == [
        ("order", "order", "http://127.0.0.1:8001"),
        ("kitchen", "kitchen-2", "http://127.0.0.1:8012"),
    ]
    file = tmp_path / "targets.json"
    file.write_text(
        json.dumps(
            [{"targets": ["127.0.0.1:8011"], "labels": {"job": "kitchen", "instance": "kitchen-1"}}]
        )
    )
    assert [t.url for t in parse_file_sd(file.read_text())] == ["http://127.0.0.1:8011"]
    assert [t.instance for t in load_targets(spec, str(file))] == ["kitchen-1"]
    assert len(load_targets(spec, str(tmp_path / "missing.json"))) == 2


def test_the_trace_id_is_read_from_traceresponse() -> None:
    assert trace_id_of("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01") == (
        "0af7651916cd43dd8448eb211c80319c"
    )
    assert trace_id_of(None) is None
    assert trace_id_of("garbage") is None


@pytest.mark.parametrize(
    ("text", "number"), [("12", 12), ("", None), (None, None), ("-1", None), (" 3 ", 3)]
)
def test_an_empty_form_field_means_any(text: str | None, number: int | None) -> None:
    assert whole_number(text) == number


def test_tracking_steps_follow_deliverys_status() -> None:
    body = {
        "status": "received",
        "timeline": [{"status": "received", "at": "2026-01-01T10:00:00Z"}],
        "kitchen_instance": None,
        "driver": None,
        "notifications": [],
    }
    view = tracking_view(ORDER, body, "en")
    assert [(s.name, s.state) for s in view.steps][:3] == [
        ("received", "done"),
        ("cooking", "current"),
        ("ready", "todo"),
    ]
    delivered = {
        **body,
        "status": "delivered",
        "notifications": [{"message_de": "Da!", "message_en": "Here!"}],
    }
    view = tracking_view(ORDER, delivered, "de")
    assert view.finished
    assert all(s.state == "done" for s in view.steps)
    assert view.notifications == ("Da!",)
    assert tracking_view(ORDER, None, "en").status == "unknown"
