"""What the benchmark reads off the running platform: each process's CPU time and memory
(Linux /proc), and the services' own Prometheus metrics."""

from __future__ import annotations

import math
import os
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from pizza_infra.config import InfraSettings
from pizza_infra.servers.kafka import kafka_nodes
from pizza_infra.servers.keycloak import keycloak_process
from pizza_infra.servers.registry import registry_process
from pizza_infra.servers.zipkin import zipkin_process
from pizza_infra.supervisor.platform import Platform
from pizza_infra.supervisor.services import PlatformSettings


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def platform_pids(env: dict[str, str]) -> dict[str, int]:
    """Every process of the platform ``env`` describes, by name: services and JVMs."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        infra = InfraSettings()
        platform = Platform(PlatformSettings(), infra)
        pids = {p.instance: p.pid for p in platform.processes()}
        servers = (
            *(node.process for node in kafka_nodes(infra)),
            registry_process(infra),
            zipkin_process(infra),  # every span ends here: tracing's cost is also its CPU
            keycloak_process(infra),
        )
        for process in servers:
            pid = process.pid()
            if pid is not None:
                pids[process.name] = pid
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return pids


def cpu_of(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


Histogram = dict[float, float]  # upper bound -> cumulative count


def scrape(url: str) -> str:
    answer = httpx.get(f"{url}/metrics", timeout=10)
    answer.raise_for_status()
    return answer.text


def histogram(text: str, name: str) -> Histogram:
    """The cumulative buckets of histogram ``name`` in a Prometheus text exposition."""
    buckets: Histogram = {}
    for family in text_string_to_metric_families(text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                buckets[float(sample.labels["le"])] = buckets.get(
                    float(sample.labels["le"]), 0.0
                ) + float(sample.value)
    return buckets


def difference(after: Histogram, before: Histogram) -> Histogram:
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()}


def quantile(buckets: Histogram, q: float) -> float:
    """The q-quantile of a cumulative histogram, interpolated linearly inside its bucket
    (as Prometheus' histogram_quantile); NaN when empty."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return float("nan")
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bucket: its bound is all we know
            inside = count - below
            share = (rank - below) / inside if inside > 0 else 1.0
            return lower + (bound - lower) * share
        lower, below = bound, count
    return lower


def total(buckets: Histogram) -> float:
    return max(buckets.values(), default=0.0)
