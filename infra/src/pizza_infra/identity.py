"""The platform's principals in Keycloak's ``pizza`` realm and their local secrets.

Every secret is generated on first use into ``var/secrets/`` (git-ignored, mode 0600) and
read from there afterwards: the realm file holds only placeholders that Keycloak fills
from its environment at import, and each service gets its own client's secret in its
environment from the supervisor.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Final

from pizza_infra.config import InfraSettings

# The confidential clients (client credentials only); payment-svc is no client of its
# own but the audience of the payment scopes.
CLIENTS: Final = (
    "order-svc",
    "kitchen-svc",
    "delivery-svc",
    "lag-exporter",
    "pizza-admin",
    "board",
)
# The supervisor's process name -> the client it authenticates as.
SERVICE_CLIENTS: Final = {
    "order": "order-svc",
    "kitchen": "kitchen-svc",
    "delivery": "delivery-svc",
    "monitor": "lag-exporter",
    # The web board reads any order for operators (orders:read, its realm default).
    "board": "board",
}
# The operator's client: infra's own calls to payment's admin API (demos, chaos).
OPERATOR_CLIENT: Final = "pizza-admin"
# The audience the realm's payments:* scopes put in a token (payment-svc, a bearer-only
# client): what payment_svc requires.
PAYMENT_AUDIENCE: Final = "payment-svc"
# The services whose orders an operator reads with orders:read, and the audience each
# requires (the scope puts both in a token): docs/security.md, "Customer data".
ORDER_READERS: Final = {"order": "order-svc", "delivery": "delivery-svc"}
# The board checks the operator's dlq:replay tokens for replaying dead letters; the scope
# names the board as the audience.
REPLAY_SCOPE: Final = "dlq:replay"
BOARD_AUDIENCE: Final = "board"
ADMIN_USERNAME: Final = "admin"
ADMIN_SECRET: Final = "keycloak-admin"  # noqa: S105 - the name of its file, not a secret


def secret_file(settings: InfraSettings, name: str) -> Path:
    return settings.secrets_dir / f"{name}.secret"


def secret(settings: InfraSettings, name: str) -> str:
    """The secret ``name``, generated the first time (two starts racing get the same one)."""
    path = secret_file(settings, name)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        with contextlib.suppress(FileExistsError):  # another start made it meanwhile
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def placeholder(client: str) -> str:
    """The variable the realm file names as ``client``'s secret: ``${PIZZA_SECRET_ORDER_SVC}``."""
    return "PIZZA_SECRET_" + client.upper().replace("-", "_")


def realm_secrets_env(settings: InfraSettings) -> dict[str, str]:
    """What Keycloak's realm import needs: every client's secret under its placeholder."""
    return {placeholder(client): secret(settings, client) for client in CLIENTS}


def identity_env(settings: InfraSettings, service: str, env_prefix: str) -> dict[str, str]:
    """A service's part in the realm, as its settings read it: payment checks tokens of the
    realm (``PAYMENT_AUTH_*``); every other service gets its own client id, secret and
    token URL (``ORDER_OAUTH_*``, ...; unused by those that call no protected API yet),
    order and delivery check operators' orders:read tokens (``ORDER_AUTH_*``, ...), and
    the board their dlq:replay tokens.
    Nothing while Keycloak is off: tokens are then neither sent nor checked."""
    if not settings.keycloak_enabled:
        return {}
    if service == "payment":
        return {
            f"{env_prefix}AUTH_ISSUER": settings.issuer,
            f"{env_prefix}AUTH_AUDIENCE": PAYMENT_AUDIENCE,
        }
    client = SERVICE_CLIENTS.get(service)
    if client is None:
        return {}
    env = {
        f"{env_prefix}OAUTH_CLIENT_ID": client,
        f"{env_prefix}OAUTH_CLIENT_SECRET": secret(settings, client),
        f"{env_prefix}OAUTH_TOKEN_URL": settings.token_url,
    }
    audience = {**ORDER_READERS, "board": BOARD_AUDIENCE}.get(service)
    if audience is not None:
        env[f"{env_prefix}AUTH_ISSUER"] = settings.issuer
        env[f"{env_prefix}AUTH_AUDIENCE"] = audience
    return env
