"""Which faults hit the platform, when and where: drawn from a seed, so a run replays.

The plan is a list of faults at fixed times. It cycles through rounds that each hold
every kind once, in a shuffled order, so even a short soak injects every kind and a long
one injects each kind about equally often.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pizza_common.contracts import ORDER_PLACED, ORDER_READY

SERVICES = ("order", "payment", "kitchen", "delivery")
POISONS = ("bad-bytes", "unknown-schema", "year-10000")
KINDS: tuple[str, ...] = (
    *(f"kill:{service}" for service in SERVICES),
    *(f"pause:{service}" for service in SERVICES),
    "payment:errors",
    "payment:hang",
    "restart:broker",
    "restart:registry",
    *(f"poison:{poison}" for poison in POISONS),
)
PAYMENT_SIMULATION = "payment-simulation"


@dataclass(frozen=True, slots=True)
class Fault:
    at_s: float  # seconds after the soak began
    kind: str  # one of KINDS
    target: str  # a service or kitchen instance, a broker, "registry", or the poison's topic
    duration_s: float = 0.0  # how long a pause, a payment phase or a restart's downtime lasts
    intensity: float = 0.0  # payment:errors: the share of payments answered 503
    hard: bool = False  # restart:broker: SIGKILL (a crash) instead of a clean shutdown

    @property
    def action(self) -> str:
        return self.kind.partition(":")[0]

    @property
    def resource(self) -> str | None:
        """What the fault holds while it runs: two faults on one resource never overlap."""
        if self.kind == "restart:broker":
            return "kafka"  # one node at a time: a cluster of 3 promises to survive one
        if self.action in ("kill", "pause", "restart"):
            return self.target
        if self.action == "payment":
            return PAYMENT_SIMULATION
        return None  # a poison record is written and done


@dataclass(frozen=True, slots=True)
class PlanSettings:
    seconds: float
    kitchens: int = 3
    brokers: int = 1
    fault_interval_s: float = 8.0

    @property
    def window(self) -> tuple[float, float]:
        """When faults may start: after a short warm-up, until shortly before the end."""
        warm_up = min(5.0, self.seconds * 0.1)
        return warm_up, self.seconds * 0.9

    @property
    def longest_pause_s(self) -> float:
        return min(8.0, max(2.0, self.seconds / 10))

    @property
    def longest_phase_s(self) -> float:
        return min(15.0, max(4.0, self.seconds / 8))


def make_plan(seed: int, settings: PlanSettings) -> list[Fault]:
    """The faults of a soak, in time order; the same seed and settings give the same plan."""
    rng = random.Random(seed)
    start, end = settings.window
    count = max(len(KINDS), round((end - start) / settings.fault_interval_s))
    kinds: list[str] = []
    while len(kinds) < count:
        round_ = list(KINDS)
        rng.shuffle(round_)
        kinds += round_
    kinds = kinds[:count]
    spacing = (end - start) / count
    return [
        _fault(kind, start + (slot + rng.uniform(0.1, 0.9)) * spacing, rng, settings)
        for slot, kind in enumerate(kinds)
    ]


def _fault(kind: str, at_s: float, rng: random.Random, settings: PlanSettings) -> Fault:
    action, _, what = kind.partition(":")
    at_s = round(at_s, 2)
    if action in ("kill", "pause"):
        target = f"kitchen-{rng.randint(1, settings.kitchens)}" if what == "kitchen" else what
        pause = rng.uniform(1.0, settings.longest_pause_s) if action == "pause" else 0.0
        return Fault(at_s, kind, target, round(pause, 2))
    if kind == "payment:errors":
        phase = rng.uniform(settings.longest_phase_s / 2, settings.longest_phase_s)
        return Fault(at_s, kind, "payment", round(phase, 2), round(rng.uniform(0.3, 0.9), 2))
    if kind == "payment:hang":
        phase = rng.uniform(2.0, settings.longest_phase_s * 2 / 3)
        return Fault(at_s, kind, "payment", round(phase, 2))
    if kind == "restart:broker":
        broker = f"broker-{rng.randint(1, settings.brokers)}"
        downtime = round(rng.uniform(1.0, 5.0), 2)
        return Fault(at_s, kind, broker, downtime, hard=rng.random() < 0.5)
    if kind == "restart:registry":
        return Fault(at_s, kind, "registry", round(rng.uniform(1.0, 5.0), 2))
    return Fault(at_s, kind, rng.choice((ORDER_PLACED, ORDER_READY)))
