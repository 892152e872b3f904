"""Replaying dead letters from the board: who may, and doing it.

The board is read-only by default. Replay is on only with ``BOARD_REPLAY_ENABLED``; then,
while the board checks tokens (``BOARD_AUTH_ISSUER``), every replay needs an operator's
bearer token with ``dlq:replay``. The dead letters are read as the board's own principal
and written back as the replayer's (``BOARD_REPLAY_SASL_*``), so the board's everyday
identity never writes. The replay itself is the command line's (:mod:`pizza_common.kafka`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from board_svc.settings import BoardSettings
from pizza_common.kafka import (
    DeadLetter,
    KafkaSettings,
    choose_dead_letters,
    connection_config,
    dlq_topics,
    read_dead_letters,
    replay_dead_letters,
)
from pizza_common.web import Claims, ScopeMissing, TokenCheck

REPLAY_SCOPE = "dlq:replay"
READ_ONLY = (
    "the board is read-only: replaying dead letters is off (start it with "
    "BOARD_REPLAY_ENABLED=true to allow it)"
)


@dataclass(frozen=True)
class ReplayAccess:
    """What the topics pages say about replay: whether it is on and if a token is asked."""

    enabled: bool
    needs_token: bool

    @property
    def why_not(self) -> str | None:
        return None if self.enabled else READ_ONLY


class Replayer:
    def __init__(self, settings: BoardSettings, kafka: KafkaSettings) -> None:
        self._read = connection_config(kafka)
        writer = kafka
        if settings.replay_sasl_username:
            writer = kafka.model_copy(
                update={
                    "kafka_sasl_username": settings.replay_sasl_username,
                    "kafka_sasl_password": settings.replay_sasl_password,
                }
            )
        self._write = connection_config(writer)
        tokens = settings.tokens("board_svc")
        self.token_check = TokenCheck(tokens) if tokens is not None else None
        self.access = ReplayAccess(settings.replay_enabled, self.token_check is not None)

    async def aclose(self) -> None:
        if self.token_check is not None:
            await self.token_check.aclose()

    async def authorize(self, authorization: str | None) -> Claims | None:
        """The operator's claims (None while tokens are off); 401/403 otherwise."""
        if self.token_check is None:
            return None
        claims = await self.token_check.claims(authorization)
        if REPLAY_SCOPE not in claims.scopes:
            raise ScopeMissing(
                detail=f"the token lacks the scope {REPLAY_SCOPE}",
                headers={
                    "WWW-Authenticate": (
                        f'Bearer realm="board_svc", error="insufficient_scope", '
                        f'scope="{REPLAY_SCOPE}"'
                    )
                },
            )
        return claims

    async def replay(self, topic: str, position: tuple[int, int] | None) -> list[DeadLetter]:
        """One dead letter of ``topic`` (partition, offset), or all of them (None), back on
        the source topic; :class:`NoSuchDeadLetter` if that one is not there."""
        letters = await asyncio.to_thread(read_dead_letters, self._read, topic)
        chosen = choose_dead_letters(
            letters, {position} if position else set(), everything=position is None
        )
        await asyncio.to_thread(replay_dead_letters, self._write, chosen)
        return chosen


def is_dead_letter_topic(topic: str) -> bool:
    return topic in dlq_topics()
