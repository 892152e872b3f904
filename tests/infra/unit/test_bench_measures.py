"""The benchmark's arithmetic: hey's rows into rates and percentiles, and quantiles of
the services' Prometheus histograms."""

from __future__ import annotations

import math

import pytest

from pizza_infra.config import InfraError
from pizza_infra.scenarios.bench.kitchens import ScalingOptions
from pizza_infra.scenarios.bench.kitchens import report as kitchen_report
from pizza_infra.scenarios.bench.loadgen import parse_hey_csv
from pizza_infra.scenarios.bench.measure import difference, histogram, quantile, total

HEADER = (
    "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset"
)


def test_hey_rows_give_status_counts_rate_and_percentiles() -> None:
    rows = [f"0.{n:03d}0,0,0,0,0,0,201,{n / 100}" for n in range(1, 101)]
    rows += ["0.5000,0,0,0,0,0,503,0.2"]
    stats = parse_hey_csv("\n".join([HEADER, *rows]), concurrency=8, expected=201)
    assert stats.statuses == {201: 100, 503: 1}
    assert stats.ok == 100
    assert stats.seconds == pytest.approx(1.1)  # the last answer: sent at 1.0 s, took 0.1 s
    assert stats.per_s == pytest.approx(100 / 1.1)
    assert stats.percentile(50) == pytest.approx(51.0)  # ms, of the 201s only
    assert stats.percentile(99) == pytest.approx(99.0)
    assert stats.summary()["answers_by_status"] == {"201": 100, "503": 1}


def test_no_answers_is_zero_per_second_and_no_percentile() -> None:
    stats = parse_hey_csv(HEADER + "\n", concurrency=1, expected=201)
    assert stats.per_s == 0.0
    assert math.isnan(stats.percentile(99))


def test_a_row_that_is_no_result_is_one_clear_error() -> None:
    with pytest.raises(InfraError, match="not a result"):
        parse_hey_csv(HEADER + "\n0.1,0,0,0,0,0,,0.1", concurrency=1, expected=201)


EXPOSITION = """\
# HELP pizza_placed_to_delivered_seconds Time from order.placed to delivered
# TYPE pizza_placed_to_delivered_seconds histogram
pizza_placed_to_delivered_seconds_bucket{le="0.1"} %d
pizza_placed_to_delivered_seconds_bucket{le="0.5"} %d
pizza_placed_to_delivered_seconds_bucket{le="1.0"} %d
pizza_placed_to_delivered_seconds_bucket{le="+Inf"} %d
pizza_placed_to_delivered_seconds_count %d
pizza_placed_to_delivered_seconds_sum 1.0
"""


def _histogram(*counts: int) -> dict[float, float]:
    text = EXPOSITION % (*counts, counts[-1])
    return histogram(text, "pizza_placed_to_delivered_seconds")


def test_quantiles_interpolate_inside_their_bucket() -> None:
    buckets = _histogram(50, 90, 100, 100)
    assert total(buckets) == 100
    assert quantile(buckets, 0.5) == pytest.approx(0.1)
    assert quantile(buckets, 0.7) == pytest.approx(0.1 + 0.4 * 20 / 40)
    assert quantile(buckets, 0.99) == pytest.approx(0.5 + 0.5 * 9 / 10)


def test_a_window_is_the_difference_of_two_scrapes() -> None:
    before, after = _histogram(10, 10, 10, 10), _histogram(10, 20, 30, 30)
    window = difference(after, before)
    assert total(window) == 20
    assert quantile(window, 0.5) == pytest.approx(0.5)  # the first 10 fell in (0.1, 0.5]


def test_beyond_the_last_finite_bucket_and_empty() -> None:
    assert quantile(_histogram(0, 0, 0, 10), 0.99) == 1.0  # all we know: more than 1 s
    assert math.isnan(quantile(_histogram(0, 0, 0, 0), 0.5))
    assert histogram("", "pizza_placed_to_delivered_seconds") == {}


def test_kitchen_scaling_is_a_share_of_linear_and_of_every_oven_busy() -> None:
    runs = [
        {"kitchens": 1, "orders": 24, "seconds": 12.0},
        {"kitchens": 2, "orders": 48, "seconds": 16.0},
    ]
    result = kitchen_report(runs, ScalingOptions(counts=(1, 2), orders_per_kitchen=24, ovens=4))
    one, two = result["runs"]
    assert one["orders_per_s"] == 2.0
    assert (one["share_of_linear"], one["share_of_ideal"]) == (1.0, 1.0)  # 4 ovens / 2 s
    assert two["orders_per_s"] == 3.0
    assert (two["share_of_linear"], two["share_of_ideal"]) == (0.75, 0.75)
