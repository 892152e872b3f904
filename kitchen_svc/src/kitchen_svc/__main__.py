"""``python -m kitchen_svc``: one kitchen instance (``KITCHEN_INSTANCE``, ``KITCHEN_PORT``)."""

from __future__ import annotations

from kitchen_svc.app import create_app
from kitchen_svc.settings import KitchenSettings
from pizza_common.web import run_service


def main() -> None:
    run_service(KitchenSettings(), create_app)


if __name__ == "__main__":
    main()
