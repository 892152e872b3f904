"""`.env.example`: every setting of the platform, generated from the settings classes.

``just env-example`` rewrites it; a test fails while it differs from what the classes
say, so the documented defaults are the real ones.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from board_svc.settings import BoardSettings
from delivery_svc.settings import DeliverySettings
from kitchen_svc.settings import KitchenSettings
from order_svc.settings import OrderSettings
from payment_svc.settings import PaymentSettings
from pizza_common.kafka import KafkaSettings
from pizza_infra.config import InfraSettings
from pizza_infra.supervisor.services import PlatformSettings
from tests import REPO_ROOT

ENV_EXAMPLE = REPO_ROOT / ".env.example"
INTERNAL = {"service_name"}  # fixed per service, not a setting
SECTIONS: list[tuple[str, type[BaseSettings]]] = [
    (
        "Where every service finds Kafka and the schema registry, and who it is to Kafka",
        KafkaSettings,
    ),
    ("Local infra (just infra-up): versions, ports, folders", InfraSettings),
    ("Services as processes (just up): ports and kitchen instances", PlatformSettings),
    ("order_svc", OrderSettings),
    ("payment_svc", PaymentSettings),
    (
        "kitchen_svc (KITCHEN_INSTANCE and KITCHEN_PORT are set per instance by just up)",
        KitchenSettings,
    ),
    ("delivery_svc", DeliverySettings),
    ("board_svc, the web board", BoardSettings),
]


def _name(prefix: str, field: str, info: FieldInfo) -> str:
    if isinstance(info.validation_alias, str):
        return info.validation_alias
    return f"{prefix}{field}".upper()


def _value(info: FieldInfo) -> str:
    value = info.get_default(call_default_factory=True)
    if value is None:
        return ""
    if isinstance(value, Path):
        return str(value.relative_to(REPO_ROOT)) if value.is_relative_to(REPO_ROOT) else str(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def render() -> str:
    lines = [
        "# Every setting of the platform with its default. Nothing reads this file by itself:",
        "# export what you change (or `set -a; . ./.env; set +a` after copying it to .env).",
        "# Generated from the settings classes by `just env-example`; a test keeps it true.",
    ]
    seen: set[str] = set()
    for title, settings in SECTIONS:
        prefix = str(settings.model_config.get("env_prefix", ""))
        lines += ["", f"# --- {title}"]
        for field, info in settings.model_fields.items():
            if field in INTERNAL:
                continue
            name = _name(prefix, field, info)
            if name in seen:
                continue
            seen.add(name)
            if info.description:
                lines.append(f"# {info.description}")
            lines.append(f"{name}={_value(info)}")
    return "\n".join(lines) + "\n"


def main() -> int:
    ENV_EXAMPLE.write_text(render())
    print(f"wrote {ENV_EXAMPLE.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
