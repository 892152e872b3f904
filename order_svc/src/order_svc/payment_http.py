"""The HTTP client towards payment_svc: httpx's API on aiohttp's connection pool.

httpx's own pool looks at every pooled connection on each request (is it expired, is
it free?). Sized for every admitted placement, that walk was most of the charge's CPU,
and the charge most of order_svc's. aiohttp keeps its pool without that walk; the
``httpx-aiohttp`` transport puts it under httpx, so the payment client, its retries and
timeouts, and the tracing instrumentation stay as they are.

That transport's translation of aiohttp's errors is mended here, because the payment
client tells causes apart by httpx's error classes: a refused connection is a
``ConnectError`` (payment unreachable, not a timeout), a connection payment closed
mid-request is a ``RemoteProtocolError``, and an answer aiohttp cannot parse is one too
(never an aiohttp error the caller does not expect).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor


def payment_http(base_url: str, *, connections: int) -> httpx.AsyncClient:
    """A client for ``base_url`` keeping up to ``connections`` connections open, traced
    (client spans, and the traceparent header to payment)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    http = httpx.AsyncClient(
        base_url=base_url, limits=limits, transport=_Transport(AiohttpTransport(limits=limits))
    )
    HTTPXClientInstrumentor.instrument_client(http)
    return http


class _Transport(httpx.AsyncBaseTransport):
    """``AiohttpTransport`` with errors raised as the classes httpx itself would raise."""

    def __init__(self, inner: AiohttpTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._inner.handle_async_request(request)
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise _as_httpx(exc, request) from exc
        response.stream = _Body(response.stream, request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Body(httpx.AsyncByteStream):
    """A response body whose read errors are mended like the request's."""

    def __init__(self, inner: httpx.AsyncByteStream | httpx.SyncByteStream, request: httpx.Request):
        if not isinstance(inner, httpx.AsyncByteStream):
            raise TypeError("an asynchronous transport answered with a synchronous body")
        self._inner = inner
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise _as_httpx(exc, self._request) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()


def _as_httpx(exc: Exception, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an aiohttp error (given itself or as the cause of httpx's)."""
    cause = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
    message = str(cause or exc)
    if isinstance(cause, aiohttp.SocketTimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(cause, aiohttp.ServerTimeoutError):  # also a connection's, or the pool's
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(cause, aiohttp.ClientPayloadError):
        return httpx.ReadError(message, request=request)
    if isinstance(cause, aiohttp.ClientOSError):  # reset, broken pipe
        return httpx.NetworkError(message, request=request)
    if cause is None and isinstance(exc, httpx.TransportError):
        return exc
    return httpx.RemoteProtocolError(message, request=request)
