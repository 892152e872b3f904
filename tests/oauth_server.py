"""A small identity provider for tests: RS256 keys of its own, a JWKS, an OpenID discovery
document and a client-credentials token endpoint, at Keycloak's paths.

:class:`Issuer` holds the keys and clients and answers requests; it is served over HTTP
on 127.0.0.1 by :class:`OAuthServer` (a thread; stop and start it again on the same port
to have the provider down for a while), or in process by :meth:`Issuer.transport` for
unit tests. Tests also mint tokens of any shape with :meth:`Issuer.mint`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

REALM_PATH = "/realms/pizza"
JWKS_PATH = f"{REALM_PATH}/protocol/openid-connect/certs"
TOKEN_PATH = f"{REALM_PATH}/protocol/openid-connect/token"
DISCOVERY_PATH = f"{REALM_PATH}/.well-known/openid-configuration"
AUDIENCE = "payment-svc"
ORDER_CLIENT = ("order_svc", "order-secret")
ORDER_SCOPES = frozenset({"payments:write", "payments:read"})


@dataclass
class Issuer:
    base_url: str = "http://idp.test"
    lifetime_s: int = 300
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    signing_kid: str = ""
    clients: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=lambda: {"jwks": 0, "token": 0})
    down: bool = False  # in process only: every request fails to connect

    def __post_init__(self) -> None:
        if not self.keys:
            self.rotate()
        self.clients.setdefault(ORDER_CLIENT[0], (ORDER_CLIENT[1], ORDER_SCOPES))

    @property
    def url(self) -> str:
        return self.base_url + REALM_PATH

    @property
    def jwks_url(self) -> str:
        return self.base_url + JWKS_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    def rotate(self) -> str:
        """A new key, published and signing from now on; the old ones stay published."""
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.published.append(kid)
        self.signing_kid = kid
        return kid

    def retire(self, kid: str) -> None:
        """Stop publishing ``kid``: tokens it signed must no longer pass."""
        self.published.remove(kid)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def mint(
        self,
        *,
        scope: str = "payments:write payments:read",
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
        lifetime_s: int | None = None,
        valid_in_s: int = 0,
        **claims: Any,
    ) -> str:
        """A signed token; ``claims`` override or (as None) drop the usual ones. Times are
        taken when it is minted (``valid_in_s``: not valid before that many seconds)."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "service-account-order_svc",
            "azp": "order_svc",
            "iat": now,
            "nbf": now + valid_in_s,
            "exp": now + valid_in_s + (lifetime_s if lifetime_s is not None else self.lifetime_s),
            "jti": uuid.uuid4().hex,
            "scope": scope,
            **claims,
        }
        body = {name: value for name, value in body.items() if value is not None}
        kid = kid or self.signing_kid
        header = {"kid": kid, **(headers or {})}
        header = {name: value for name, value in header.items() if value is not None}
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers=header)

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """The status and JSON body for one request."""
        if method == "GET" and path == DISCOVERY_PATH:
            return 200, {
                "issuer": self.url,
                "jwks_uri": self.jwks_url,
                "token_endpoint": self.token_url,
                "grant_types_supported": ["client_credentials"],
            }
        if method == "GET" and path == JWKS_PATH:
            self.requests["jwks"] += 1
            return 200, self.jwks()
        if method == "POST" and path == TOKEN_PATH:
            self.requests["token"] += 1
            return self._grant(headers, body)
        return 404, {"error": "not_found"}

    def _grant(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        known = self.clients.get(client_id or "")
        if known is None or known[0] != secret:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        asked = frozenset(form.get("scope", "").split()) or known[1]
        if not asked <= known[1]:
            return 400, {"error": "invalid_scope"}
        scope = " ".join(sorted(asked))
        token = self.mint(scope=scope, azp=client_id, sub=f"service-account-{client_id}")
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.lifetime_s,
            "scope": scope,
        }

    def transport(self) -> httpx.MockTransport:
        """The issuer in process, for an ``httpx.AsyncClient`` in unit tests."""

        def handle(request: httpx.Request) -> httpx.Response:
            if self.down:
                raise httpx.ConnectError("the identity provider is down", request=request)
            status, body = self.answer(
                request.method, request.url.path, dict(request.headers), request.content
            )
            return httpx.Response(status, json=body)

        return httpx.MockTransport(handle)


class OAuthServer:
    """``issuer`` over HTTP on 127.0.0.1; :meth:`stop` and :meth:`start` keep the port."""

    def __init__(self, issuer: Issuer | None = None, port: int = 0) -> None:
        self.port = port
        self.issuer = issuer or Issuer()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> OAuthServer:
        issuer = self.issuer

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status, body = issuer.answer(
                    self.command,
                    self.path.split("?")[0],
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.issuer.base_url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: connections are refused until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @contextmanager
    def down(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()


@contextmanager
def running_issuer() -> Iterator[OAuthServer]:
    server = OAuthServer().start()
    try:
        yield server
    finally:
        server.stop()
