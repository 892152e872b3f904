"""``pizza-order``: place the sample order of docs/examples/order.json and show the answer.

Exits 0 when the order was accepted (201), 1 otherwise, so scripts can rely on it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path

import httpx

from pizza_common.paths import REPO_ROOT

EXAMPLE = REPO_ROOT / "docs" / "examples" / "order.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pizza-order", description=__doc__)
    parser.add_argument(
        "--url",
        default=f"http://127.0.0.1:{os.environ.get('ORDER_PORT', '8001')}",
        help="order_svc (default: http://127.0.0.1:$ORDER_PORT, port 8001)",
    )
    parser.add_argument("--body", type=Path, default=EXAMPLE, help="order JSON to send")
    parser.add_argument("--language", default="en", help="Accept-Language (de or en)")
    args = parser.parse_args(argv)
    body = json.loads(args.body.read_text())
    headers = {"Idempotency-Key": f"sample-{uuid.uuid4()}", "Accept-Language": args.language}
    try:
        answer = httpx.post(f"{args.url}/orders", json=body, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        print(f"error: order_svc does not answer at {args.url} ({exc}); is it running?")
        return 1
    print(f"HTTP {answer.status_code}")
    print(json.dumps(answer.json(), indent=2, ensure_ascii=False))
    return 0 if answer.status_code == 201 else 1


if __name__ == "__main__":
    sys.exit(main())
