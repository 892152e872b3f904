"""Asking each process whether it is up (``/health``), can work (``/ready``), and what its
metrics say (``/metrics``): the operations endpoints every process of the platform has."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from board_svc.targets import Target

PROBE_TIMEOUT = httpx.Timeout(1.0)


@dataclass(frozen=True, slots=True)
class ProcessHealth:
    job: str
    instance: str
    url: str
    healthy: bool
    not_ready: str | None


async def _health(client: httpx.AsyncClient, target: Target) -> ProcessHealth:
    try:
        health = await client.get(f"{target.url}/health", timeout=PROBE_TIMEOUT)
    except httpx.HTTPError:
        return ProcessHealth(target.job, target.instance, target.url, False, None)
    if health.status_code != 200:
        return ProcessHealth(target.job, target.instance, target.url, False, None)
    why = None
    try:
        ready = await client.get(f"{target.url}/ready", timeout=PROBE_TIMEOUT)
        if ready.status_code not in (200, 404):
            checks = ready.json().get("checks", {})
            why = "; ".join(f"{name}: {reason}" for name, reason in checks.items()) or "not ready"
    except (httpx.HTTPError, ValueError):
        why = "/ready did not answer"
    return ProcessHealth(target.job, target.instance, target.url, True, why)


async def health_of(client: httpx.AsyncClient, targets: list[Target]) -> list[ProcessHealth]:
    return list(await asyncio.gather(*(_health(client, t) for t in targets)))


async def metrics_text(client: httpx.AsyncClient, url: str) -> str | None:
    try:
        answer = await client.get(f"{url}/metrics", timeout=PROBE_TIMEOUT)
    except httpx.HTTPError:
        return None
    return answer.text if answer.status_code == 200 else None
