"""The client towards payment over real sockets: every way a connection can fail arrives
as the httpx error the payment client tells apart, and connections are kept alive.

The server here is a bare asyncio server, so each failure (refused, silent, closed
mid-request, garbage) is exact; the order flow tests run the client against payment_svc.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

import httpx
import pytest
from opentelemetry import context, trace

from order_svc.payment_client import (
    Charge,
    PaymentClient,
    PaymentUnavailable,
    breaker_verdict,
    is_transient,
)
from order_svc.payment_http import payment_http

CHARGE = Charge("o-1", Decimal("49.00"), "CHF", "4242424242424242", "order-o-1")
APPROVED = b'{"payment_id": "pay_1", "status": "approved", "reason": null}'

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """Reads each request (head and body) and answers it with the next of ``answers``."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.lower().split(b"\r\n")
                    if line.startswith(b"content-length:")
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
                await answer(request, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def approve(_: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(APPROVED), APPROVED)
    )
    await writer.drain()


async def hang_up(_: bytes, writer: asyncio.StreamWriter) -> None:
    writer.close()
    raise ConnectionError("hung up")


async def stay_silent(_: bytes, _writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


async def talk_nonsense(_: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    await writer.drain()
    writer.close()
    raise ConnectionError("done")


async def cut_the_body(_: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(b'HTTP/1.1 201 Created\r\ncontent-length: 100\r\n\r\n{"payment')
    await writer.drain()
    writer.close()
    raise ConnectionError("done")


@asynccontextmanager
async def payment(server: Server) -> AsyncIterator[str]:
    listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        listening.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def client(http: httpx.AsyncClient, *, deadline_s: float = 1.0) -> PaymentClient:
    return PaymentClient(
        http,
        attempt_timeout_s=0.3,
        deadline_s=deadline_s,
        breaker_threshold=100,
        breaker_open_s=30,
        retry_after_s=5,
    )


async def post(http: httpx.AsyncClient) -> httpx.Response:
    return await http.post("/pay", json={"order_id": "o-1"}, timeout=0.3)


async def test_a_refused_connection_is_payment_unreachable() -> None:
    async with payment_http(f"http://127.0.0.1:{closed_port()}", connections=4) as http:
        with pytest.raises(httpx.ConnectError) as caught:
            await post(http)
    # Retried, and counted against payment by the circuit breaker.
    assert is_transient(caught.value)
    assert breaker_verdict(caught.value) == "failure"


async def test_a_silent_payment_is_a_timeout() -> None:
    async with payment(Server(stay_silent)) as url, payment_http(url, connections=4) as http:
        with pytest.raises(httpx.ReadTimeout):
            await post(http)
        with pytest.raises(PaymentUnavailable) as caught:
            await client(http, deadline_s=0.5).charge(CHARGE)
    assert caught.value.cause == "timeout"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (hang_up, httpx.RemoteProtocolError),
        (talk_nonsense, httpx.RemoteProtocolError),
        (cut_the_body, httpx.ReadError),
    ],
)
async def test_a_broken_answer_is_a_transport_error_and_retried(
    answer: Answer, error: type[httpx.TransportError]
) -> None:
    server = Server(answer, approve)
    async with payment(server) as url, payment_http(url, connections=4) as http:
        with pytest.raises(error):
            await post(http)
        server.answers = [answer, approve]
        result = await client(http).charge(CHARGE)
    assert (result.payment_id, result.approved) == ("pay_1", True)
    # The retry asked again under the same key: payment charges it once.
    keys = [r for r in server.requests[1:] if b"idempotency-key: order-o-1" in r.lower()]
    assert len(keys) == 2


async def test_connections_are_kept_alive() -> None:
    server = Server(approve)
    async with payment(server) as url, payment_http(url, connections=4) as http:
        charges = client(http)
        for _ in range(5):
            assert (await charges.charge(CHARGE)).approved
    assert (len(server.requests), server.connections) == (5, 1)


async def test_the_trace_goes_along() -> None:
    server = Server(approve)
    placing = trace.SpanContext(
        trace_id=0x5EED, span_id=0x0D0E, is_remote=True, trace_flags=trace.TraceFlags(1)
    )
    token = context.attach(trace.set_span_in_context(trace.NonRecordingSpan(placing)))
    try:
        async with payment(server) as url, payment_http(url, connections=4) as http:
            await client(http).charge(CHARGE)
    finally:
        context.detach(token)
    headers = server.requests[0].lower().split(b"\r\n\r\n")[0]
    assert f"traceparent: 00-{0x5EED:032x}-".encode() in headers
