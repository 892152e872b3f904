"""``python -m order_svc``: serve order_svc on ORDER_HOST:ORDER_PORT (127.0.0.1:8001)."""

from __future__ import annotations

from order_svc.app import create_app
from order_svc.settings import OrderSettings
from pizza_common.web import run_service


def main() -> None:
    run_service(OrderSettings(), create_app)


if __name__ == "__main__":
    main()
