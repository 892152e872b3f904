"""What every process of the platform needs: its settings, where its files go, structured
logs, traces, its database, and the watchdog that ends a process stuck for good."""

from pizza_common.runtime._db import (
    SharedTransactions,
    UtcDateTime,
    Write,
    database_problem,
    make_engine,
    migrate,
    open_database,
)
from pizza_common.runtime._durations import SecondsRange
from pizza_common.runtime._group_commit import GroupCommit
from pizza_common.runtime._logging import configure_logging
from pizza_common.runtime._migrations import run_migrations
from pizza_common.runtime._paths import var_dir
from pizza_common.runtime._ports import PORTS
from pizza_common.runtime._secrets import local_secret
from pizza_common.runtime._settings import ServiceSettings
from pizza_common.runtime._tracing import extract_headers, inject_headers, span
from pizza_common.runtime._watchdog import Watchdog, exit_if_crashed, stop_tasks

__all__ = [
    "PORTS",
    "GroupCommit",
    "SecondsRange",
    "ServiceSettings",
    "SharedTransactions",
    "UtcDateTime",
    "Watchdog",
    "Write",
    "configure_logging",
    "database_problem",
    "exit_if_crashed",
    "extract_headers",
    "inject_headers",
    "local_secret",
    "make_engine",
    "migrate",
    "open_database",
    "run_migrations",
    "span",
    "stop_tasks",
    "var_dir",
]
