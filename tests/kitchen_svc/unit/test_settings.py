"""kitchen_svc's settings: what it takes from the shared base."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from kitchen_svc.settings import KitchenSettings


def test_every_instance_shares_the_services_one_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PIZZA_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("KITCHEN_DATABASE_URL", raising=False)
    first = KitchenSettings(instance="kitchen-1")
    second = KitchenSettings(instance="kitchen-2")
    expected = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'kitchen_svc.db'}"
    assert first.db_url == second.db_url == expected
    assert KitchenSettings(database_url="sqlite+aiosqlite:///x.db").db_url.endswith("x.db")


def test_an_instance_has_four_ovens_unless_told_and_at_least_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KITCHEN_OVENS", raising=False)
    assert KitchenSettings().ovens == 4
    monkeypatch.setenv("KITCHEN_OVENS", "2")
    assert KitchenSettings().ovens == 2
    monkeypatch.setenv("KITCHEN_OVENS", "0")
    with pytest.raises(ValidationError, match="ovens"):
        KitchenSettings()
