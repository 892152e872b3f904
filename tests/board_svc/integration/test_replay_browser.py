"""Replay in a real browser (Chromium, driven by Playwright, as tests/e2e/test_board.py):
the operator gives a dlq:replay token in the page's password field, presses a dead
letter's Replay from the keyboard, and the page says it went back to its source topic,
where a reader finds it. The board runs in process on a port of its own, against the test
broker, checking tokens of the tests' small identity provider."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, expect, sync_playwright
from pydantic import SecretStr

from board_svc.app import create_app
from board_svc.settings import BoardSettings
from pizza_common.contracts import DLQ_REPLAYER_PRINCIPAL
from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import password
from tests.board_svc.integration.test_replay import (
    DLQ,
    dead_letter,
    ends,
    idp,  # noqa: F401 - a fixture
    written_since,
)
from tests.e2e.test_board import CHROMIUM, CHROMIUM_ARGS
from tests.oauth_server import OAuthServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
    pytest.mark.usefixtures("board_principal"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def board_url(infra: InfraSettings, idp: OAuthServer) -> Iterator[str]:  # noqa: F811
    settings = BoardSettings(
        replay_enabled=True,
        auth_issuer=idp.issuer.url,
        replay_sasl_username=DLQ_REPLAYER_PRINCIPAL,
        replay_sasl_password=SecretStr(password(infra, DLQ_REPLAYER_PRINCIPAL)),
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):  # up to 20 s to start
        if server.started:
            break
        time.sleep(0.1)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_an_operator_replays_a_dead_letter_from_the_page(
    browser: Browser,
    board_url: str,
    admin: dict[str, Any],
    idp: OAuthServer,  # noqa: F811
) -> None:
    key = f"browser-{uuid.uuid4().hex}".encode()
    partition, offset = dead_letter(admin, key)
    before = ends(admin)
    page = browser.new_context(locale="en-GB").new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{board_url}/topics/{DLQ}")
        page.get_by_label("Operator token").fill(idp.issuer.mint(scope="dlq:replay", aud="board"))
        replay = page.get_by_role("button", name=f"Replay {DLQ}[{partition}] @ {offset}")
        expect(replay).to_be_enabled()
        replay.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_contain_text("1 dead letter(s) replayed")
        expect(page.get_by_role("status")).to_contain_text(f"{DLQ}[{partition}]@{offset}")
    finally:
        page.context.close()
    assert [message.key() for message in written_since(admin, before)] == [key]
