"""The tracking token: derived from the order id under the service's secret, so a replay
hands out the same one; only its digest is kept."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from order_svc.settings import OrderSettings
from order_svc.tracking import TrackingTokens
from pizza_common.web import tracking_token_matches

TOKENS = TrackingTokens("a-secret")


def test_the_token_is_the_same_each_time_and_unguessable_in_shape() -> None:
    token = TOKENS.token_for("o-1")
    assert token == TOKENS.token_for("o-1")
    assert len(token) == 43  # 32 bytes, base64url without padding
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_another_order_or_another_secret_gives_another_token() -> None:
    assert TOKENS.token_for("o-1") != TOKENS.token_for("o-2")
    assert TOKENS.token_for("o-1") != TrackingTokens("another-secret").token_for("o-1")


def test_the_stored_digest_checks_the_token_and_is_not_the_token() -> None:
    digest = TOKENS.sha256_for("o-1")
    assert tracking_token_matches(TOKENS.token_for("o-1"), digest)
    assert TOKENS.token_for("o-1") not in digest


def test_a_replay_hands_out_the_token_only_while_it_matches_the_digest() -> None:
    digest = TOKENS.sha256_for("o-1")
    assert TOKENS.handed_out("o-1", digest) == TOKENS.token_for("o-1")
    assert TrackingTokens("rotated").handed_out("o-1", digest) is None
    assert TOKENS.handed_out("o-1", None) is None  # an order from before tracking tokens


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        TrackingTokens("")


def test_without_a_configured_secret_one_is_generated_once_and_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ORDER_TRACKING_SECRET", raising=False)
    monkeypatch.setenv("PIZZA_VAR_DIR", str(tmp_path))
    first = OrderSettings().tracking_key()
    assert first == OrderSettings().tracking_key()
    path = tmp_path / "secrets" / "order-tracking.secret"
    assert path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(path.parent.iterdir()) == [path]  # no draft left behind
    monkeypatch.setenv("ORDER_TRACKING_SECRET", "configured")
    assert OrderSettings().tracking_key() == "configured"
