"""payment_svc's settings from the environment, and the admin body's round trip."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from payment_svc.api_models import SimulationBody, simulation_view
from payment_svc.domain import DEFAULT_DECLINED_CARDS, DeclineReason, Latency, SimulationConfig
from payment_svc.settings import PaymentSettings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PORT",
        "LATENCY_MS",
        "ERROR_RATE",
        "HANG",
        "AMOUNT_LIMIT",
        "ADMIN_TOKEN",
        "SIMULATION_REFRESH_S",
    ):
        monkeypatch.delenv(f"PAYMENT_{name}", raising=False)
    settings = PaymentSettings()
    assert (settings.service_name, settings.host, settings.port) == (
        "payment_svc",
        "127.0.0.1",
        8002,
    )
    assert settings.admin_token == "pizza-admin"
    assert settings.simulation_refresh_s == 0.5
    config = settings.simulation()
    assert config.latency == Latency(20, 80)
    assert config.error_rate == 0.03
    assert config.hang is False
    assert config.rules.amount_limit == Decimal("500.00")
    assert dict(config.rules.declined_cards) == dict(DEFAULT_DECLINED_CARDS)


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_PORT", "9002")
    monkeypatch.setenv("PAYMENT_LATENCY_MS", "40")
    monkeypatch.setenv("PAYMENT_ERROR_RATE", "0.5")
    monkeypatch.setenv("PAYMENT_HANG", "true")
    monkeypatch.setenv("PAYMENT_AMOUNT_LIMIT", "120.50")
    settings = PaymentSettings()
    assert settings.port == 9002
    assert settings.simulation() == SimulationConfig(
        latency=Latency(40, 40),
        error_rate=0.5,
        hang=True,
        rules=settings.simulation().rules,
    )
    assert settings.simulation().rules.amount_limit == Decimal("120.50")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PAYMENT_LATENCY_MS", "fast"),
        ("PAYMENT_LATENCY_MS", "80-20"),
        ("PAYMENT_ERROR_RATE", "1.5"),
        ("PAYMENT_AMOUNT_LIMIT", "0"),
        ("PAYMENT_AMOUNT_LIMIT", "1.234"),
        ("PAYMENT_SIMULATION_REFRESH_S", "0"),
        ("PAYMENT_SIMULATION_REFRESH_S", "-1"),
    ],
)
def test_bad_environment_fails_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        PaymentSettings()


def test_admin_body_round_trips() -> None:
    body = {
        "latency_ms": {"min": 5, "max": 15},
        "error_rate": 0.2,
        "hang": False,
        "amount_limit": "75.00",
        "declined_cards": {"1234 5678 9012": "insufficient_funds"},
    }
    config = SimulationBody.model_validate(body).to_domain()
    assert config.latency == Latency(5, 15)
    assert dict(config.rules.declined_cards) == {"123456789012": DeclineReason.INSUFFICIENT_FUNDS}
    view = simulation_view(config)
    assert view == {**body, "declined_cards": {"123456789012": "insufficient_funds"}}
    assert SimulationBody.model_validate(view).to_domain() == config


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"latency_ms": {"min": 9, "max": 1}}, "latency_ms"),
        ({"latency_ms": {"min": -1, "max": 1}}, "latency_ms"),
        ({"error_rate": 1.01}, "error_rate"),
        ({"amount_limit": "-5"}, "amount_limit"),
        ({"declined_cards": {"12ab": "card_declined"}}, "declined_cards"),
        ({"declined_cards": {"4242424242424242": "amount_over_limit"}}, "declined_cards"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_admin_body_refuses_bad_values(change: dict[str, object], field: str) -> None:
    body: dict[str, object] = {
        "latency_ms": {"min": 0, "max": 0},
        "error_rate": 0.0,
        "hang": False,
        "amount_limit": "500.00",
        "declined_cards": {},
        **change,
    }
    with pytest.raises(ValidationError) as caught:
        SimulationBody.model_validate(body)
    assert {str(error["loc"][0]) for error in caught.value.errors()} == {field}
