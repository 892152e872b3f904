"""The simulation's outcomes, drawn from scripted and seeded random sources."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import pytest

from payment_svc.domain import (
    MAX_LATENCY_MS,
    Hang,
    Latency,
    Outage,
    Proceed,
    SimulationConfig,
    simulate,
)


@dataclass
class ScriptedRandom:
    """Returns the given draws in order; records uniform() calls."""

    draws: list[float]
    uniform_calls: list[tuple[float, float]] = field(default_factory=list)

    def random(self) -> float:
        return self.draws.pop(0)

    def uniform(self, a: float, b: float) -> float:
        self.uniform_calls.append((a, b))
        return a + (b - a) * self.draws.pop(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("40", Latency(40, 40)),
        ("20-80", Latency(20, 80)),
        (" 20 - 80 ", Latency(20, 80)),
        ("0", Latency(0, 0)),
        ("5-5", Latency(5, 5)),
        (str(MAX_LATENCY_MS), Latency(MAX_LATENCY_MS, MAX_LATENCY_MS)),
    ],
)
def test_latency_parses(text: str, expected: Latency) -> None:
    assert Latency.parse(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "-5", "1.5", "20-", "20-80-90", "20..80", "1e3"])
def test_latency_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="latency must look like"):
        Latency.parse(text)


@pytest.mark.parametrize("text", ["80-20", str(MAX_LATENCY_MS + 1)])
def test_latency_refuses_impossible_ranges(text: str) -> None:
    with pytest.raises(ValueError, match="min <= max"):
        Latency.parse(text)


def test_latency_renders_as_it_parses() -> None:
    assert str(Latency.parse("40")) == "40"
    assert str(Latency.parse("20-80")) == "20-80"


def test_fixed_latency_draws_nothing() -> None:
    rng = ScriptedRandom([])
    assert Latency(40, 40).draw_seconds(rng) == 0.04
    assert rng.uniform_calls == []


def test_range_latency_is_uniform_within_bounds() -> None:
    rng = ScriptedRandom([0.0, 1.0, 0.5])
    latency = Latency(20, 80)
    assert [latency.draw_seconds(rng) for _ in range(3)] == [0.02, 0.08, 0.05]
    assert rng.uniform_calls == [(20, 80)] * 3


def test_error_rate_must_be_a_probability() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        SimulationConfig(error_rate=1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        SimulationConfig(error_rate=-0.1)


def test_draw_below_error_rate_is_an_outage() -> None:
    config = SimulationConfig(latency=Latency(30, 30), error_rate=0.25)
    assert simulate(config, ScriptedRandom([0.2499])) == Outage(0.03)
    assert simulate(config, ScriptedRandom([0.25])) == Proceed(0.03)


def test_error_rate_one_always_fails_and_zero_never() -> None:
    # random() is in [0, 1): its extremes decide the edge cases.
    always = SimulationConfig(latency=Latency(0, 0), error_rate=1.0)
    never = SimulationConfig(latency=Latency(0, 0), error_rate=0.0)
    for draw in (0.0, 0.5, 0.999999):
        assert isinstance(simulate(always, ScriptedRandom([draw])), Outage)
        assert isinstance(simulate(never, ScriptedRandom([draw])), Proceed)


def test_hang_wins_and_draws_nothing() -> None:
    config = SimulationConfig(error_rate=1.0, hang=True)
    assert simulate(config, ScriptedRandom([])) == Hang()


def test_outages_have_latency_too() -> None:
    config = SimulationConfig(latency=Latency(10, 20), error_rate=1.0)
    assert simulate(config, ScriptedRandom([0.1, 0.5])) == Outage(0.015)


def test_seeded_source_gives_the_configured_share_of_outages() -> None:
    config = SimulationConfig(latency=Latency(20, 80), error_rate=0.3)
    rng = random.Random(1234)
    outcomes = [simulate(config, rng) for _ in range(2000)]
    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds.keys() == {"Outage", "Proceed"}
    assert 0.25 < kinds["Outage"] / len(outcomes) < 0.35
    delays = [o.delay_s for o in outcomes if isinstance(o, Outage | Proceed)]
    assert min(delays) >= 0.02
    assert max(delays) <= 0.08


def test_same_seed_same_outcomes() -> None:
    config = SimulationConfig(error_rate=0.5)
    first, second = random.Random(42), random.Random(42)
    assert [simulate(config, first) for _ in range(50)] == [
        simulate(config, second) for _ in range(50)
    ]
