"""``python -m kitchen_svc``: one kitchen instance (``KITCHEN_INSTANCE``, ``KITCHEN_PORT``)."""

from __future__ import annotations

from kitchen_svc.app import create_app
from kitchen_svc.settings import KitchenSettings
from pizza_common.logging import configure_logging
from pizza_common.web import serve


def main() -> None:
    settings = KitchenSettings()
    configure_logging("kitchen_svc", settings.instance_id, settings.log_level)
    serve(create_app(settings), settings.host, settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
