"""``python -m delivery_svc``: the delivery service (``DELIVERY_PORT``, default 8004)."""

from __future__ import annotations

from delivery_svc.app import create_app
from delivery_svc.settings import DeliverySettings
from pizza_common.logging import configure_logging
from pizza_common.web import serve


def main() -> None:
    settings = DeliverySettings()
    configure_logging("delivery_svc", settings.instance_id, settings.log_level)
    serve(create_app(settings), settings.host, settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
