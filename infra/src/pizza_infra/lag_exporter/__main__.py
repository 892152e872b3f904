"""``python -m pizza_infra.lag_exporter``: the same as ``pizza-lag-exporter``."""

from pizza_infra.lag_exporter.app import main

main()
