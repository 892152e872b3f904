"""Who each client is to Kafka, and with which password.

The services authenticate with SCRAM-SHA-512 as their own principal
(:data:`pizza_common.contracts.PRINCIPALS`), which the administrator creates at every
start (:mod:`pizza_infra.admin.access`). The administrator and the brokers among
themselves use SASL PLAIN against a static list in the brokers' config: that works
before any SCRAM credential exists, on a new cluster and on one formatted before Kafka
required authentication alike. Every password is generated on first use into
``var/secrets/`` like the identity provider's (:func:`pizza_infra.identity.secret`).

Every admin client, producer and consumer of the tooling and the tests gets its settings
from :func:`admin_config`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from pydantic import SecretStr

from pizza_common.contracts import (
    BOARD_PRINCIPAL,
    DELIVERY_PRINCIPAL,
    DLQ_REPLAYER_PRINCIPAL,
    KITCHEN_PRINCIPAL,
    LAG_EXPORTER_PRINCIPAL,
    ORDER_PRINCIPAL,
)
from pizza_common.kafka import KafkaSettings, connection_config
from pizza_infra.config import InfraSettings
from pizza_infra.identity import secret

# Super users: the brokers and controllers among themselves, and the operator (topics,
# credentials, ACLs, schemas' storage, tests and demos).
BROKER_PRINCIPAL: Final = "broker"
ADMIN_PRINCIPAL: Final = "admin"
SUPER_USERS: Final = (BROKER_PRINCIPAL, ADMIN_PRINCIPAL)
# The supervisor's process name -> the principal it connects as (payment uses no Kafka).
SERVICE_PRINCIPALS: Final = {
    "order": ORDER_PRINCIPAL,
    "kitchen": KITCHEN_PRINCIPAL,
    "delivery": DELIVERY_PRINCIPAL,
    "monitor": LAG_EXPORTER_PRINCIPAL,
    "board": BOARD_PRINCIPAL,
}


def password_variable(principal: str) -> str:
    """Where a set-up job elsewhere (Docker Compose) gives it a service's password:
    ``PIZZA_KAFKA_SECRET_ORDER_SVC``."""
    return "PIZZA_KAFKA_SECRET_" + principal.upper().replace("-", "_")


def password(settings: InfraSettings, principal: str) -> str:
    """The principal's password: from its variable if set, else generated into
    ``var/secrets/kafka-<principal>.secret`` the first time."""
    return os.environ.get(password_variable(principal)) or secret(settings, f"kafka-{principal}")


def service_kafka_env(settings: InfraSettings, service: str) -> dict[str, str]:
    """A service's Kafka identity as its settings read it (``KAFKA_SASL_*``)."""
    principal = SERVICE_PRINCIPALS.get(service)
    if principal is None:
        return {}
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": principal,
        "KAFKA_SASL_PASSWORD": password(settings, principal),
    }


def replay_kafka_env(settings: InfraSettings) -> dict[str, str]:
    """Who the board writes replayed dead letters as (``BOARD_REPLAY_SASL_*``): used only
    once replay is switched on (``BOARD_REPLAY_ENABLED``)."""
    return {
        "BOARD_REPLAY_SASL_USERNAME": DLQ_REPLAYER_PRINCIPAL,
        "BOARD_REPLAY_SASL_PASSWORD": password(settings, DLQ_REPLAYER_PRINCIPAL),
    }


def service_settings(settings: InfraSettings, service: str) -> KafkaSettings:
    """What ``service`` connects as: for tests that act as one service."""
    env = service_kafka_env(settings, service)
    return KafkaSettings(
        kafka_bootstrap_servers=settings.bootstrap_servers,
        schema_registry_url=settings.schema_registry_url,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username=env["KAFKA_SASL_USERNAME"],
        kafka_sasl_password=SecretStr(env["KAFKA_SASL_PASSWORD"]),
    )


def admin_settings(settings: InfraSettings) -> KafkaSettings:
    """The administrator: the credentials in the environment (``KAFKA_SASL_USERNAME``, a
    broker run elsewhere), else the local brokers' admin with its generated password."""
    given = KafkaSettings(
        kafka_bootstrap_servers=settings.bootstrap_servers,
        schema_registry_url=settings.schema_registry_url,
    )
    if given.kafka_sasl_username is not None:
        return given
    return given.model_copy(
        update={
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_mechanism": "PLAIN",
            "kafka_sasl_username": ADMIN_PRINCIPAL,
            "kafka_sasl_password": SecretStr(password(settings, ADMIN_PRINCIPAL)),
        }
    )


def admin_config(settings: InfraSettings, **overrides: Any) -> dict[str, Any]:
    """librdkafka settings of the administrator: every admin client, producer or consumer
    of the tooling and the tests starts from these."""
    return {**connection_config(admin_settings(settings)), **overrides}


def java_client_properties(settings: InfraSettings) -> Path:
    """The administrator's settings as a Java client's properties file (Kafka's own
    tools), mode 0600 under ``var/run``."""
    admin = admin_settings(settings)
    module = (
        "plain.PlainLoginModule"
        if admin.kafka_sasl_mechanism == "PLAIN"
        else "scram.ScramLoginModule"
    )
    username = admin.kafka_sasl_username
    secret_value = admin.kafka_sasl_password.get_secret_value()
    lines = [f"bootstrap.servers={settings.bootstrap_servers}"]
    if username is not None:
        lines += [
            f"security.protocol={admin.kafka_security_protocol or 'SASL_PLAINTEXT'}",
            f"sasl.mechanism={admin.kafka_sasl_mechanism}",
            f"sasl.jaas.config=org.apache.kafka.common.security.{module} required "
            f'username="{username}" password="{secret_value}";',
        ]
    path = settings.run_dir / "admin-client.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n")
    return path
