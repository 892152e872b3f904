"""`.env.example` lists exactly the settings the code reads, with their real defaults."""

from __future__ import annotations

from tests.env_example import ENV_EXAMPLE, render


def test_env_example_matches_the_settings_classes() -> None:
    assert ENV_EXAMPLE.read_text() == render(), "run `just env-example` to update .env.example"


def test_env_example_names_the_documented_ports() -> None:
    values = dict(
        line.split("=", 1) for line in render().splitlines() if line and not line.startswith("#")
    )
    assert values["KAFKA_PORT"] == "9092"
    assert values["SCHEMA_REGISTRY_PORT"] == "8081"
    assert values["ORDER_PORT"] == "8001"
    assert values["PAYMENT_PORT"] == "8002"
    assert values["DELIVERY_PORT"] == "8004"
    assert values["KITCHEN_PORT"] == "8011"
