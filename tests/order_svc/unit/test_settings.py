"""order_svc's settings: defaults taken from the facts they depend on."""

from __future__ import annotations

import pytest

from order_svc.settings import OrderSettings
from pizza_common.runtime import PORTS


def test_payment_is_found_at_its_port_of_the_shared_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDER_PAYMENT_URL", raising=False)
    assert OrderSettings().payment_url == f"http://127.0.0.1:{PORTS.payment}"
