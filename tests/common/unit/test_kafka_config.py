"""How KafkaSettings become librdkafka settings: the one place credentials are mapped."""

from __future__ import annotations

import pytest

from pizza_common.kafka import (
    KafkaSettings,
    admin_config,
    connection_config,
    consumer_config,
    producer_config,
)


def test_without_a_username_the_client_connects_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    # A broker of one's own without authentication keeps working as before.
    monkeypatch.delenv("KAFKA_SASL_USERNAME", raising=False)
    settings = KafkaSettings(kafka_bootstrap_servers="broker:9092")
    assert connection_config(settings) == {"bootstrap.servers": "broker:9092"}


def test_a_username_means_scram_over_sasl_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "kitchen-svc")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    settings = KafkaSettings()
    assert connection_config(settings) == {
        "bootstrap.servers": "broker:9092",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "kitchen-svc",
        "sasl.password": "s3cret",
    }
    # The password stays out of reprs and logs of the settings.
    assert "s3cret" not in repr(settings)


def test_protocol_and_mechanism_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "admin")
    config = connection_config(KafkaSettings())
    assert (config["security.protocol"], config["sasl.mechanism"]) == ("SASL_SSL", "PLAIN")


def test_an_unknown_mechanism_is_refused() -> None:
    with pytest.raises(ValueError, match="kafka_sasl_mechanism"):
        KafkaSettings(kafka_sasl_mechanism="GSSAPI")  # type: ignore[arg-type]


def test_producers_consumers_and_admin_clients_carry_the_credentials() -> None:
    settings = KafkaSettings(kafka_sasl_username="order-svc", kafka_sasl_password="pw")  # type: ignore[arg-type]
    producer = producer_config(settings, client_id="p")
    consumer = consumer_config(settings, group_id="g", client_id="c")
    admin = admin_config(settings, client_id="a")
    for config in (producer, consumer, admin):
        assert config["sasl.username"] == "order-svc"
        assert config["sasl.password"] == "pw"
    assert producer["enable.idempotence"] is True
    assert consumer["group.id"] == "g"
