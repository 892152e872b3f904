"""Cook-time settings (SecondsRange) and the kitchen's refusal rules: pure logic."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from kitchen_svc.domain import why_uncookable
from pizza_common.runtime import SecondsRange
from pizza_common.testing import order_placed


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [("0", 0.0, 0.0), ("7", 7.0, 7.0), ("5-10", 5.0, 10.0), (" 0.5-1.5 ", 0.5, 1.5)],
)
def test_parses_seconds_and_ranges(text: str, low: float, high: float) -> None:
    assert SecondsRange.parse(text) == SecondsRange(low, high)


@pytest.mark.parametrize("text", ["", "fast", "10-5", "-1", "5-", "1-2-3"])
def test_rejects_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text)):
        SecondsRange.parse(text)


def test_draws_within_the_range() -> None:
    rng = random.Random(7)
    draws = [SecondsRange(5, 10).draw(rng) for _ in range(200)]
    assert all(5 <= d <= 10 for d in draws)
    assert max(draws) - min(draws) > 2  # actually random, not a constant


def test_an_ordinary_order_can_be_cooked() -> None:
    assert why_uncookable(order_placed()) is None


def test_an_absurd_quantity_is_refused() -> None:
    order = order_placed()
    huge = replace(order.items[0], quantity=500)
    assert "quantity 500" in (why_uncookable(replace(order, items=(huge,))) or "")
