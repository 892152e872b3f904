"""The web board in a real browser (Chromium, driven by Playwright) against a real platform:
an order placed in the form and followed live to the door, field errors in the browser's
language, a decline and an outage told apart, a decoded record in the topic browser, the
log lines of every service about one order, records sought by time and an order found by
its trace id, and the lag on the board rising while the kitchen is away and going back to
0 when it returns.

The platform runs on ports of its own: the defaults plus PIZZA_E2E_BOARD_PORT_OFFSET
(default: the e2e offset plus 750), without Keycloak (identity is tested elsewhere; here
it would only cost start time): the customer's pages read with the order's tracking
token, and the operator's Follow page says it has no orders:read token. With
PIZZA_SCREENSHOTS=<folder> each page is saved there as it is checked (`just screenshots`
writes docs/screenshots).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from pizza_infra.config import InfraSettings
from pizza_infra.supervisor.services import shifted_platform_env
from tests import REPO_ROOT
from tests.e2e.conftest import RunningPlatform

# Starting and stopping the platform count towards the first and the last test.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

CHROMIUM = Path(os.environ.get("PIZZA_CHROMIUM", "/usr/bin/chromium"))
# No sandbox (tests may run as root in a container); nothing fetched from the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = os.environ.get("PIZZA_SCREENSHOTS")
DECLINED_CARD = "4000 0000 0000 0002"  # payment's default rules decline it
ORDER = json.loads((REPO_ROOT / "docs" / "examples" / "order.json").read_text())


@pytest.fixture(scope="module")
def board_platform() -> Iterator[RunningPlatform]:
    e2e_offset = int(os.environ.get("PIZZA_E2E_PORT_OFFSET", "20000"))
    offset = int(os.environ.get("PIZZA_E2E_BOARD_PORT_OFFSET", e2e_offset + 750))
    var_dir = tempfile.mkdtemp(prefix="pizza-e2e-board-")
    env = {
        **os.environ,
        **shifted_platform_env(offset, var_dir, str(InfraSettings().cache_dir)),
        "KITCHENS": "1",
        # A moment per step, so the live view has steps to show.
        "KITCHEN_COOK_SECONDS": "1",
        "DELIVERY_DRIVE_SECONDS": "1",
        "PAYMENT_ERROR_RATE": "0",
        "KEYCLOAK_ENABLED": "false",
    }
    running = RunningPlatform(env)
    started = running.just("up")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield running
    finally:
        stopped = running.just("down")
        shutil.rmtree(var_dir, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


@pytest.fixture(scope="module")
def board(board_platform: RunningPlatform) -> str:
    return board_platform.url("board")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as driver:
        # launch() gives every run a fresh temporary profile, removed on close.
        launched = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def _page(browser: Browser, locale: str = "en-GB") -> Page:
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    return context.new_page()


def _shot(page: Page, name: str, *, full_page: bool = True) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=full_page)


def _place(board: str, client: httpx.Client | None = None, **changes: object) -> httpx.Response:
    post = client.post if client is not None else httpx.post
    return post(f"{board}/api/orders", json={**ORDER, **changes}, timeout=30)


@pytest.fixture(scope="module")
def delivered_order(board: str) -> str:
    """An order placed through the board's API and delivered, watched as its customer: the
    client keeps the order's tracking cookie, as a browser does."""
    with httpx.Client() as customer:
        answer = _place(board, customer)
        assert answer.status_code == 201, answer.text
        assert "tracking_token" not in answer.json()  # in a cookie, out of the page's reach
        order_id: str = answer.json()["order_id"]
        _until(
            "the order to be delivered",
            lambda: _delivery_status(customer, board, order_id) == "delivered",
        )
    return order_id


def _delivery_status(customer: httpx.Client, board: str, order_id: str) -> str | None:
    page = customer.get(f"{board}/track/{order_id}", timeout=30).text
    return "delivered" if 'class="step step-done" data-step="delivered"' in page else None


def test_another_browser_sees_no_order_without_its_tracking_token(
    board: str, delivered_order: str
) -> None:
    page = httpx.get(f"{board}/track/{delivered_order}", timeout=30).text
    assert 'id="no-tracking-token"' in page
    assert 'class="step step-done"' not in page


def _until(what: str, probe: Callable[[], bool], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.5)


def test_an_order_placed_in_the_form_is_followed_live_to_the_door(
    browser: Browser, board: str
) -> None:
    page = _page(browser)
    page.goto(board)
    expect(page.get_by_role("heading", name="Order", exact=True)).to_be_visible()
    _shot(page, "order")
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url("**/track/**")
    tracking = page.locator("#tracking")
    expect(tracking).to_have_attribute("data-status", "delivered", timeout=60_000)
    expect(page.locator('[data-step="delivered"]')).to_have_class("step step-done")
    expect(page.locator("#kitchen")).to_have_text("kitchen-1")
    expect(page.locator("#driver")).to_contain_text("driver-")
    expect(page.locator("#notifications li").first).not_to_have_class("muted")
    trace = page.get_by_role("link", name="Trace of this order")
    assert "/zipkin/traces/" in (trace.get_attribute("href") or "")
    _shot(page, "tracking")


@pytest.mark.parametrize(
    ("locale", "empty_name", "bad_phone"),
    [
        ("de-CH", "Darf nicht leer sein.", "Hat ein ungültiges Format."),
        ("en-GB", "Must not be empty.", "Has an invalid format."),
    ],
)
def test_field_errors_show_beside_their_fields_in_the_browsers_language(
    browser: Browser, board: str, locale: str, empty_name: str, bad_phone: str
) -> None:
    page = _page(browser, locale)
    page.goto(board)
    page.locator("#customer\\.name").fill("")
    page.locator("#customer\\.phone").fill("x")
    page.locator('input[name="qty-margherita"]').fill("99")
    page.keyboard.press("Enter")  # the keyboard alone sends the form
    expect(page.locator("#err-customer\\.name")).to_have_text(empty_name)
    expect(page.locator("#err-customer\\.phone")).to_have_text(bad_phone)
    expect(page.locator("#err-item-margherita")).to_be_visible()
    expect(page.locator("#customer\\.name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#customer\\.name")).to_be_focused()
    if locale.startswith("en"):
        _shot(page, "order-errors")


def test_a_declined_card_and_a_payment_outage_say_different_things(
    browser: Browser, board: str, board_platform: RunningPlatform
) -> None:
    page = _page(browser)
    page.goto(board)
    page.locator("#payment\\.card_number").fill(DECLINED_CARD)
    page.locator("#submit").click()
    declined = page.locator("#outcome-declined")
    expect(declined).to_contain_text("Payment declined")
    expect(declined).to_contain_text("the card was declined")
    _shot(page, "order-declined")

    assert board_platform.just("stop", "payment").returncode == 0
    try:
        page.locator("#payment\\.card_number").fill("4242 4242 4242 4242")
        page.locator("#submit").click()
        unavailable = page.locator("#outcome-unavailable")
        expect(unavailable).to_contain_text("Payment not confirmed yet")
        expect(unavailable).to_contain_text("not responding")
        expect(page.locator("#outcome-declined")).to_have_count(0)
    finally:
        assert board_platform.just("start", "payment").returncode == 0


def test_the_topic_browser_shows_the_order_placed_decoded(
    browser: Browser, board: str, delivered_order: str
) -> None:
    page = _page(browser)
    page.goto(f"{board}/topics")
    for topic in ("order.placed", "order.ready", "order.placed.dlq", "order.ready.dlq"):
        expect(page.locator(f'tr[data-topic="{topic}"]')).to_be_visible()
    expect(page.get_by_text("order.placed-value version 1")).to_be_visible()
    _shot(page, "topics")
    page.get_by_role("link", name="order.placed", exact=True).click()
    page.get_by_label("Key or order id").fill(delivered_order)
    page.get_by_role("button", name="Show").click()
    record = page.locator("article.record").first
    expect(record.locator(".record-key")).to_have_text(delivered_order)
    expect(record.locator(".badge-ok")).to_have_text("decoded")
    expect(record.locator(".record-body")).to_contain_text(f'"order_id": "{delivered_order}"')
    expect(record.locator(".record-body")).to_contain_text('"customer"')
    record.locator("summary").click()
    expect(record.locator(".headers")).to_contain_text("traceparent")
    _shot(page, "records")


def test_records_are_found_by_the_time_written_and_an_order_by_its_trace(
    browser: Browser, board: str, delivered_order: str
) -> None:
    page = _page(browser)
    page.goto(f"{board}/topics/order.placed?q={delivered_order}")
    record = page.locator("article.record").first
    written = record.locator("header .muted").text_content() or ""
    trace_href = record.get_by_role("link", name="trace").get_attribute("href") or ""
    trace_id = trace_href.rstrip("/").rsplit("/", 1)[-1]

    # Seek by time: from the second the order was written on, its record is on the page.
    page.goto(f"{board}/topics/order.placed?since={written[:19]}")
    expect(page.get_by_label("or from time (UTC)")).to_be_visible()
    keys = page.locator("article.record .record-key")
    expect(keys.filter(has_text=delivered_order)).to_have_count(1)
    for at in page.locator("article.record header .muted").all_text_contents():
        assert at[:19] >= written[:19], at

    # Follow by the trace id: the records carrying it name the order.
    page.goto(f"{board}/follow")
    page.get_by_label("Order id or trace id").fill(trace_id)
    page.get_by_role("button", name="Follow").click()
    expect(page.locator("#from-trace")).to_contain_text(delivered_order)
    expect(page.locator('#logs tr[data-service="order_svc"]').first).to_be_visible()


def test_following_an_order_shows_the_log_lines_of_all_four_services(
    browser: Browser, board: str, delivered_order: str
) -> None:
    page = _page(browser)
    page.goto(f"{board}/follow")
    page.get_by_label("Order id").fill(delivered_order)
    page.get_by_role("button", name="Follow").click()
    for service in ("order_svc", "payment_svc", "kitchen_svc", "delivery_svc"):
        expect(page.locator(f'#logs tr[data-service="{service}"]').first).to_be_visible()
    # Without Keycloak the board has no orders:read token: order and delivery show the
    # order only to its customer, and the page says why instead of failing.
    expect(page.locator("#operator-access")).to_contain_text("BOARD_OAUTH_TOKEN_URL")
    expect(page.locator("article.record").first).to_be_visible()
    _shot(page, "follow", full_page=False)  # the whole page is mostly log lines


def test_every_page_fits_a_phone_without_scrolling_sideways(
    browser: Browser, board: str, delivered_order: str
) -> None:
    width = 390
    page = browser.new_context(viewport={"width": width, "height": 844}).new_page()
    for path in (
        "/",
        f"/track/{delivered_order}",
        "/board",
        "/topics",
        "/topics/order.placed",
        f"/follow?order_id={delivered_order}",
    ):
        page.goto(f"{board}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path


# What a page may weigh with its CSS and scripts. How fast it loads is printed (with
# `-s`) for docs/board.md, never asserted: a test does not time a shared machine.
WEIGHT_BUDGET_BYTES = 200_000


def test_every_page_is_light_and_self_contained(
    browser: Browser, board: str, delivered_order: str
) -> None:
    paths = (
        "/",
        f"/track/{delivered_order}",
        "/board",
        "/topics",
        "/topics/order.placed",
        f"/topics/order.placed?q={delivered_order}",
        f"/follow?order_id={delivered_order}",
    )
    for path in paths:
        # The board's caches warm (an admin reading, a schema), the browser's cold.
        httpx.get(f"{board}{path}", timeout=30)
        page = _page(browser)
        page.goto(f"{board}{path}")
        timing = page.evaluate(
            """() => {
                const nav = performance.getEntriesByType("navigation")[0];
                const parts = performance.getEntriesByType("resource");
                return {
                    server: nav.responseStart - nav.requestStart,
                    loaded: nav.loadEventEnd,
                    bytes: nav.encodedBodySize
                        + parts.reduce((sum, r) => sum + r.encodedBodySize, 0),
                    external: parts.filter((r) => !r.name.startsWith(location.origin)).length,
                };
            }"""
        )
        print(
            f"{path.replace(delivered_order, '<id>'):<28} server {timing['server']:6.0f} ms  "
            f"loaded {timing['loaded']:6.0f} ms  {timing['bytes'] / 1024:5.1f} KiB"
        )
        assert timing["external"] == 0, path  # nothing from a CDN or anywhere else
        assert timing["bytes"] < WEIGHT_BUDGET_BYTES, (path, timing)
        page.context.close()


def _kitchen_lag(page: Page) -> int:
    text = page.locator('.lag-total[data-group="kitchen"] strong').text_content() or "-1"
    return int(text)


def test_the_board_shows_lag_rising_while_the_kitchen_is_away_and_back_to_zero(
    browser: Browser, board: str, board_platform: RunningPlatform
) -> None:
    page = _page(browser)
    page.goto(f"{board}/board")
    expect(page.locator("#kitchens")).to_contain_text("kitchen-1")
    processes = page.locator("tr[data-instance]")
    expect(processes.filter(has_text="order_svc")).to_contain_text("healthy")
    cost_before = httpx.get(f"{board}/api/board", timeout=10).json()["broker_cost"]
    started = time.monotonic()

    assert board_platform.just("stop", "kitchen").returncode == 0
    try:
        for _ in range(3):
            assert _place(board).status_code == 201
        _until("kitchen lag 3 on the board", lambda: _kitchen_lag(page) >= 3, timeout_s=30)
        kitchen = page.locator("tr[data-instance]").filter(has_text="kitchen")
        expect(kitchen).to_contain_text("down")
        expect(page.locator("#kitchens")).to_contain_text("no kitchen")
        _shot(page, "board")
    finally:
        assert board_platform.just("start", "kitchen").returncode == 0
    _until("kitchen lag back to 0", lambda: _kitchen_lag(page) == 0, timeout_s=120)
    expect(page.locator("#kitchens")).to_contain_text("kitchen-1")

    # What the open page cost the broker: one admin reading a second at most, however long.
    cost_after = httpx.get(f"{board}/api/board", timeout=10).json()["broker_cost"]
    seconds = time.monotonic() - started
    readings = (cost_after["snapshots"] - cost_before["snapshots"]) / seconds
    requests = (cost_after["requests"] - cost_before["requests"]) / seconds
    print(f"board open {seconds:.0f} s: {readings:.2f} readings/s, {requests:.1f} requests/s")
    assert readings <= 1.2
