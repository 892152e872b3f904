"""A registry out of reach is I/O, never poison: the record is retried, not dead-lettered."""

from __future__ import annotations

import socket

import pytest

from pizza_common.contracts import OrderPlaced
from pizza_common.kafka import AvroEventCodec, DecodeFailure, EventDecodeError, registry_client


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nobody listens here any more: connections are refused


def test_decoding_while_the_registry_is_unreachable_is_transient() -> None:
    registry = registry_client(f"http://127.0.0.1:{_closed_port()}/apis/ccompat/v7")
    codec = AvroEventCodec(registry, OrderPlaced)
    framed = b"\x00" + (7).to_bytes(4, "big") + b"\x02ab"  # schema id 7, not cached

    with pytest.raises(EventDecodeError) as caught:
        codec.decode(framed)

    assert caught.value.failure is DecodeFailure.REGISTRY_UNAVAILABLE, caught.value.detail
