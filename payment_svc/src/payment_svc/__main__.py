"""``python -m payment_svc`` / ``payment-svc``: serve the payment API on loopback."""

from __future__ import annotations

from payment_svc.app import create_app
from payment_svc.settings import PaymentSettings
from pizza_common.web import run_service


def main() -> None:
    run_service(PaymentSettings(), create_app)


if __name__ == "__main__":
    main()
