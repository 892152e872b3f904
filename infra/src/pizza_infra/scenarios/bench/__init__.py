"""The benchmark: ``pizza-ctl bench`` (:func:`run`)."""

from pizza_infra.scenarios.bench.run import BenchOptions, run

__all__ = ["BenchOptions", "run"]
