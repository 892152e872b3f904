"""Settings every service has: where it listens, who it is, where its database is."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from pizza_common.runtime._paths import var_dir


class ServiceSettings(BaseSettings):
    """Subclass per service with ``env_prefix`` set, e.g. ``ORDER_`` → ``ORDER_PORT``.

    ``database_url`` defaults to a SQLite file of the service's own in ``var/data``, one
    for all its instances; a ``postgresql+asyncpg://`` URL works too.
    """

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    instance: str | None = None
    # A listening socket inherited from the process manager and shared by every instance of
    # the service: the kernel hands each connection to whichever instance accepts first,
    # so one instance down or stopped loses nothing queued. ``port`` is then the instance's
    # own address (health, metrics).
    listen_fd: int | None = None
    log_level: str = "INFO"
    database_url: str | None = None

    @property
    def instance_id(self) -> str:
        return self.instance or self.service_name

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = var_dir() / "data" / f"{self.service_name}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{path}"
