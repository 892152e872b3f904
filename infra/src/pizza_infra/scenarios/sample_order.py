"""``pizza-ctl order``: place the sample order of docs/examples/order.json and show the answer.

Exits 0 when the order was accepted (201), 1 otherwise, so scripts can rely on it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx

from pizza_infra.config import HOST, REPO_ROOT
from pizza_infra.supervisor.services import PlatformSettings

EXAMPLE = REPO_ROOT / "docs" / "examples" / "order.json"


def default_url() -> str:
    """order_svc on this machine: its port from ``ORDER_PORT``, as the platform runs it."""
    return f"http://{HOST}:{PlatformSettings().order_port}"


def place(url: str, body_file: Path = EXAMPLE, language: str = "en") -> int:
    """POST the order in ``body_file`` to order_svc at ``url``; print the answer."""
    body = json.loads(body_file.read_text())
    headers = {"Idempotency-Key": f"sample-{uuid.uuid4()}", "Accept-Language": language}
    try:
        answer = httpx.post(f"{url}/orders", json=body, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        print(f"error: order_svc does not answer at {url} ({exc}); is it running?")
        return 1
    print(f"HTTP {answer.status_code}")
    print(json.dumps(answer.json(), indent=2, ensure_ascii=False))
    return 0 if answer.status_code == 201 else 1
