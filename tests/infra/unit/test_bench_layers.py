"""The layer costs of the benchmark: each layer really runs, and a failure is no figure."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from pizza_infra.scenarios.bench import layers


def test_every_layer_is_measured_in_a_process_of_its_own() -> None:
    found = subprocess.run(
        [sys.executable, "-m", "pizza_infra.scenarios.bench.layers", "0.01"],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    costs = json.loads(found.stdout.splitlines()[-1])
    assert set(costs) == {
        "log_line_us",
        "span_us",
        "avro_round_trip_us",
        "sqlite_transaction_us",
        "sqlite_row_in_a_batch_us",
    }
    assert all(value > 0 for value in costs.values())


def test_spans_are_encoded_for_zipkin() -> None:
    exporter = layers._EncodeOnly()
    layers.span_us(50, exporter)
    assert exporter.spans >= 50


class _Failing(layers._EncodeOnly):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ValueError("cannot encode")


def test_spans_that_were_not_exported_give_no_figure() -> None:
    with pytest.raises(RuntimeError, match="spans were encoded"):
        layers.span_us(50, _Failing())


def test_the_sample_event_survives_the_avro_round_trip() -> None:
    assert layers.avro_us(5) > 0
