"""``python -m delivery_svc``: the delivery service (``DELIVERY_PORT``, default 8004)."""

from __future__ import annotations

from delivery_svc.app import create_app
from delivery_svc.settings import DeliverySettings
from pizza_common.web import run_service


def main() -> None:
    run_service(DeliverySettings(), create_app)


if __name__ == "__main__":
    main()
