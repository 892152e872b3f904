"""What every process of the platform needs: its settings, where its files go, structured
logs, traces, its database, and the watchdog that ends a process stuck for good."""

from pizza_common.runtime._db import UtcDateTime, make_engine, migrate
from pizza_common.runtime._durations import SecondsRange
from pizza_common.runtime._logging import configure_logging
from pizza_common.runtime._migrations import run_migrations
from pizza_common.runtime._paths import var_dir
from pizza_common.runtime._ports import PORTS, LocalPorts
from pizza_common.runtime._settings import ServiceSettings
from pizza_common.runtime._tracing import (
    configure_tracing,
    current_ids,
    extract_headers,
    inject_headers,
    span,
    tracer,
    traceresponse,
)
from pizza_common.runtime._watchdog import EXIT_STUCK, Watchdog, exit_if_crashed, exit_stuck

__all__ = [
    "EXIT_STUCK",
    "PORTS",
    "LocalPorts",
    "SecondsRange",
    "ServiceSettings",
    "UtcDateTime",
    "Watchdog",
    "configure_logging",
    "configure_tracing",
    "current_ids",
    "exit_if_crashed",
    "exit_stuck",
    "extract_headers",
    "inject_headers",
    "make_engine",
    "migrate",
    "run_migrations",
    "span",
    "tracer",
    "traceresponse",
    "var_dir",
]
