"""board_svc's settings: ``BOARD_*`` from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from pizza_common.runtime import PORTS, ServiceSettings, var_dir
from pizza_common.web import TokenCheckSettings


class BoardSettings(ServiceSettings, TokenCheckSettings):
    model_config = SettingsConfigDict(env_prefix="BOARD_", extra="ignore")

    service_name: str = "board_svc"
    port: int = PORTS.board
    order_url: str = f"http://127.0.0.1:{PORTS.order}"
    delivery_url: str = f"http://127.0.0.1:{PORTS.delivery}"
    targets: str = ""
    """The processes to watch: ``job/instance=http://host:port`` separated by commas."""
    targets_file: str | None = None
    """Or a Prometheus ``file_sd`` targets file (the one ``just up`` keeps for kitchens)."""
    trace_url: str = "http://127.0.0.1:9411/zipkin/traces/{trace_id}"
    """Where a trace is shown; ``{trace_id}`` is filled in (Zipkin locally, Jaeger in Docker)."""
    log_dir: str | None = None
    """The services' JSON log files (``<service>.log``); default ``var/log``."""
    cache_seconds: float = Field(default=1.0, ge=0.1, le=60)
    """How long one answer of Kafka's admin API serves every viewer."""
    records_per_page: int = Field(default=50, ge=1, le=500)
    scan_records: int = Field(default=2000, ge=10, le=100_000)
    """How many of the newest records per partition a search by key reads at most."""

    # Operators follow any order with an orders:read token of the board's own client at the
    # identity provider (client credentials) once oauth_token_url is set; unset, the board
    # reads orders without one, which order and delivery refuse while they check tokens.
    oauth_token_url: str | None = None
    oauth_client_id: str = "board"
    oauth_client_secret: SecretStr = SecretStr("")
    oauth_scope: str = "orders:read"
    oauth_refresh_ahead_s: float = Field(default=60.0, ge=0)
    oauth_timeout_s: float = Field(default=2.0, gt=0)

    # Replaying dead letters (docs/board.md): the board is read-only unless replay_enabled.
    # Once on, with auth_issuer set each replay needs a dlq:replay token of that issuer for
    # auth_audience; without it (tokens off, local runs) anyone who reaches the board may.
    replay_enabled: bool = False
    auth_audience: str = "board"
    # The principal replays write as (dlq-replayer, WRITE on the source topics only);
    # unset, the board's own Kafka identity, which a broker with ACLs refuses.
    replay_sasl_username: str | None = None
    replay_sasl_password: SecretStr = SecretStr("")

    @property
    def logs(self) -> Path:
        return Path(self.log_dir) if self.log_dir else var_dir() / "log"
