"""A local Prometheus under circus, scraping every process of the platform.

Debian's ``prometheus`` package provides the server; without it the platform runs as
before and ``just up`` says how to add it. What to scrape comes from a targets file
(``file_sd_configs``) that ``pizza-ctl`` rewrites whenever kitchens come or go, so
Prometheus follows ``just scale`` without a restart.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

import httpx

from pizza_infra.config import HOST, InfraSettings
from pizza_infra.supervisor.services import SERVICES, START_ORDER, PlatformSettings

WATCHER = "prometheus"
INSTALL_HINT = (
    "prometheus: not installed, so nothing collects the metrics "
    "(sudo apt-get install --no-install-recommends prometheus, then just down && just up)"
)
SCRAPE_INTERVAL = "5s"  # short: the demos last seconds
RETENTION = "2d"


def binary() -> Path | None:
    """The server: ``PROMETHEUS_BIN``, else ``prometheus`` on the PATH (Debian: /usr/bin)."""
    found = os.environ.get("PROMETHEUS_BIN") or shutil.which("prometheus")
    return Path(found) if found else None


def config_dir(infra: InfraSettings) -> Path:
    return infra.run_dir / "prometheus"


def targets_file(infra: InfraSettings) -> Path:
    return config_dir(infra) / "targets.json"


def targets(platform: PlatformSettings, kitchens: int) -> list[dict[str, object]]:
    """One group per process; ``instance`` names it as its logs do (kitchen-2, order_svc)."""
    groups: list[dict[str, object]] = []
    for name in START_ORDER:
        service = SERVICES[name]
        count = kitchens if name == "kitchen" else platform.instances(name)
        for n in range(1, count + 1):
            instance = f"{name}-{n}" if service.scalable else service.instance or service.module
            groups.append(
                {
                    "targets": [f"{HOST}:{platform.port(name, n)}"],
                    "labels": {"job": name, "instance": instance},
                }
            )
    return groups


def write_targets(platform: PlatformSettings, infra: InfraSettings, kitchens: int) -> None:
    path = targets_file(infra)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole, then renamed: Prometheus never reads half a file.
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(targets(platform, kitchens), indent=2) + "\n")
    partial.replace(path)


def write_config(infra: InfraSettings) -> Path:
    """prometheus.yml (JSON is YAML too); the scraped processes live in the targets file."""
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": "15s"},
        "scrape_configs": [
            {
                "job_name": "pizza",
                # Kitchens label their own series with instance="kitchen-n", the same name
                # their target has here: keep it rather than rename it exported_instance.
                "honor_labels": True,
                "file_sd_configs": [
                    {"files": [str(targets_file(infra))], "refresh_interval": SCRAPE_INTERVAL}
                ],
            }
        ],
    }
    path = config_dir(infra) / "prometheus.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def command(server: Path, platform: PlatformSettings, infra: InfraSettings) -> list[str]:
    """The server's command line, its config written; data in var/data/prometheus."""
    storage = infra.data_dir / "prometheus"
    storage.mkdir(parents=True, exist_ok=True)
    return [
        str(server),
        f"--config.file={write_config(infra)}",
        f"--storage.tsdb.path={storage}",
        f"--storage.tsdb.retention.time={RETENTION}",
        f"--web.listen-address={HOST}:{platform.prometheus_port}",
    ]


def watcher_lines(platform: PlatformSettings, infra: InfraSettings) -> list[str]:
    """circus.ini lines of the Prometheus watcher; none when it is not installed."""
    server = binary()
    if server is None:
        return []
    log = infra.log_dir / "prometheus.log"
    return [
        f"[watcher:{WATCHER}]",
        f"cmd = {shlex.join(command(server, platform, infra))}",
        "numprocesses = 1",
        "copy_env = True",
        "stop_signal = SIGTERM",
        "graceful_timeout = 10",
        "max_retry = 5",
        "stdout_stream.class = FileStream",
        f"stdout_stream.filename = {log}",
        "stderr_stream.class = FileStream",
        f"stderr_stream.filename = {log}",
        "",
    ]


def url(platform: PlatformSettings) -> str:
    return f"http://{HOST}:{platform.prometheus_port}"


def healthy(platform: PlatformSettings) -> bool:
    try:
        return httpx.get(f"{url(platform)}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
