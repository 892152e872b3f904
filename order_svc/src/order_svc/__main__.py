"""``python -m order_svc``: serve order_svc on ORDER_HOST:ORDER_PORT (127.0.0.1:8001)."""

from __future__ import annotations

from order_svc.app import create_app
from order_svc.settings import OrderSettings
from pizza_common.logging import configure_logging
from pizza_common.web import serve


def main() -> None:
    settings = OrderSettings()
    configure_logging("order_svc", settings.instance_id, settings.log_level)
    serve(create_app(settings), settings.host, settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
