"""What exists while the board runs: its clients of Kafka, the registry and the platform's
APIs, and what they have gathered. Pages take it as the dependency ``board``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from litestar import Litestar

from board_svc.kafka_admin import ClusterReader
from board_svc.observer import Observer
from board_svc.platform_api import PlatformApi
from board_svc.replay import Replayer
from board_svc.settings import BoardSettings
from board_svc.topic_browser import TopicBrowser
from pizza_common.kafka import KafkaSettings, SchemaRegistryClient, registry_client
from pizza_common.oauth import ClientCredentials, client_credentials

log = structlog.get_logger(__name__)


class Board:
    def __init__(self, settings: BoardSettings) -> None:
        self.settings = settings
        kafka = KafkaSettings()
        self.registry: SchemaRegistryClient = registry_client(kafka.schema_registry_url)
        self.cluster = ClusterReader(kafka, settings.cache_seconds)
        self.observer = Observer(
            self.cluster, settings.targets, settings.targets_file, settings.cache_seconds
        )
        self.api = PlatformApi(settings.order_url, settings.delivery_url, _token_source(settings))
        self.topics = TopicBrowser(
            kafka, self.registry, self.cluster, settings.records_per_page, settings.scan_records
        )
        self.replayer = Replayer(settings, kafka)

    def trace_link(self, trace_id: str | None) -> str | None:
        return self.settings.trace_url.format(trace_id=trace_id) if trace_id else None

    async def aclose(self) -> None:
        await self.replayer.aclose()
        await self.api.aclose()
        await self.observer.aclose()
        await asyncio.to_thread(self.cluster.close)
        if self.api.tokens is not None:
            await self.api.tokens.aclose()


def _token_source(settings: BoardSettings) -> ClientCredentials | None:
    """The board's orders:read tokens for operators' reads; None without a token URL."""
    if not settings.oauth_token_url:
        return None
    return client_credentials(
        settings.oauth_token_url,
        settings.oauth_client_id,
        settings.oauth_client_secret.get_secret_value(),
        settings.oauth_scope,
        timeout_s=settings.oauth_timeout_s,
        refresh_ahead_s=settings.oauth_refresh_ahead_s,
    )


class Runtime:
    def __init__(self, settings: BoardSettings) -> None:
        self.settings = settings
        self._board: Board | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            board = Board(self.settings)
            stack.push_async_callback(board.aclose)
            if board.api.tokens is not None:  # fetched ahead, so a read never waits for it
                refresh = asyncio.create_task(board.api.tokens.run())
                stack.push_async_callback(_cancel, refresh)
            self._board = board
            log.info(
                "board open",
                order_url=self.settings.order_url,
                operator_token=board.api.tokens is not None,
                replay=board.replayer.access.enabled,
            )
            try:
                yield
            finally:
                self._board = None
        log.info("board closed")

    def board(self) -> Board:
        if self._board is None:
            raise RuntimeError("board_svc has not started")
        return self._board

    async def cluster_ready(self) -> str | None:
        if self._board is None:
            return "not started"
        return (await self._board.cluster.snapshot()).error


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
