"""The fault plan: replayable from its seed, every kind in every run, within the soak."""

from __future__ import annotations

from collections import Counter

import pytest

from pizza_infra.scenarios.chaos.plan import KINDS, PlanSettings, make_plan


def test_the_same_seed_gives_the_same_plan() -> None:
    settings = PlanSettings(seconds=120)
    assert make_plan(7, settings) == make_plan(7, settings)
    assert make_plan(7, settings) != make_plan(8, settings)


@pytest.mark.parametrize("seed", range(20))
def test_a_one_minute_soak_injects_every_kind(seed: int) -> None:
    plan = make_plan(seed, PlanSettings(seconds=60))
    assert {fault.kind for fault in plan} == set(KINDS)


def test_a_ten_minute_soak_injects_every_kind_at_least_three_times() -> None:
    counts = Counter(fault.kind for fault in make_plan(1, PlanSettings(seconds=600)))
    assert set(counts) == set(KINDS)
    assert min(counts.values()) >= 3


def test_faults_start_in_time_order_inside_the_window() -> None:
    settings = PlanSettings(seconds=300)
    plan = make_plan(3, settings)
    start, end = settings.window
    times = [fault.at_s for fault in plan]
    assert times == sorted(times)
    assert start <= times[0]
    assert times[-1] <= end


def test_targets_exist_on_the_platform() -> None:
    plan = make_plan(5, PlanSettings(seconds=600, kitchens=2, brokers=3))
    kitchens = {f.target for f in plan if f.kind in ("kill:kitchen", "pause:kitchen")}
    brokers = {f.target for f in plan if f.kind == "restart:broker"}
    poisons = {f.target for f in plan if f.action == "poison"}
    assert kitchens <= {"kitchen-1", "kitchen-2"}
    assert brokers <= {"broker-1", "broker-2", "broker-3"}
    assert len(brokers) > 1
    assert poisons == {"order.placed", "order.ready"}


def test_pauses_and_phases_are_bounded_and_errors_partial() -> None:
    settings = PlanSettings(seconds=600)
    plan = make_plan(11, settings)
    for fault in plan:
        if fault.action == "pause":
            assert 1.0 <= fault.duration_s <= settings.longest_pause_s
        if fault.action == "payment":
            assert 0 < fault.duration_s <= settings.longest_phase_s
        if fault.kind == "payment:errors":
            assert 0.3 <= fault.intensity <= 0.9


def test_broker_restarts_are_sometimes_clean_and_sometimes_a_crash() -> None:
    plans = [make_plan(seed, PlanSettings(seconds=600)) for seed in range(5)]
    assert {f.hard for plan in plans for f in plan if f.kind == "restart:broker"} == {True, False}


def test_faults_on_one_process_share_a_resource() -> None:
    plan = make_plan(2, PlanSettings(seconds=600))
    resources = {(f.kind, f.target): f.resource for f in plan}
    assert resources[("kill:order", "order")] == resources[("pause:order", "order")] == "order"
    assert resources[("payment:errors", "payment")] == resources[("payment:hang", "payment")]
    assert resources[("payment:hang", "payment")] != resources[("kill:payment", "payment")]
    assert all(f.resource is None for f in plan if f.action == "poison")


def test_kafka_nodes_restart_one_at_a_time() -> None:
    plan = make_plan(4, PlanSettings(seconds=600, brokers=3))
    restarts = [f for f in plan if f.kind == "restart:broker"]
    assert len({f.target for f in restarts}) > 1
    assert {f.resource for f in restarts} == {"kafka"}
