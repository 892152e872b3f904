"""``python -m payment_svc`` / ``payment-svc``: serve the payment API on loopback."""

from __future__ import annotations

from payment_svc.app import create_app
from payment_svc.settings import PaymentSettings
from pizza_common.logging import configure_logging
from pizza_common.web import serve


def main() -> None:
    settings = PaymentSettings()
    configure_logging(settings.service_name, settings.instance, settings.log_level)
    serve(create_app(settings), settings.host, settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
