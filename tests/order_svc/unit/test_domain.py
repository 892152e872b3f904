"""Pricing and the customer's language: pure logic."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from order_svc.api_models import OrderIn
from order_svc.domain import LineRequest, UnknownPizza, price_lines, total_of
from order_svc.i18n import field_message, field_path, pick_language
from order_svc.menu import MENU
from pizza_common.contracts import PizzaSize
from tests import REPO_ROOT

EXAMPLE = json.loads((REPO_ROOT / "docs" / "examples" / "order.json").read_text())


def test_prices_come_from_the_menu() -> None:
    items = price_lines(
        [
            LineRequest("margherita", PizzaSize.LARGE, 2),
            LineRequest("funghi", PizzaSize.SMALL, 1),
        ]
    )
    total = total_of(items)
    margherita = MENU["margherita"].prices[PizzaSize.LARGE]
    funghi = MENU["funghi"].prices[PizzaSize.SMALL]
    assert [item.unit_price for item in items] == [margherita, funghi]
    assert total == margherita * 2 + funghi
    assert total.as_tuple().exponent == -2


def test_an_unknown_pizza_cannot_be_priced() -> None:
    with pytest.raises(UnknownPizza):
        price_lines([LineRequest("hawaii", PizzaSize.SMALL, 1)])


def test_the_documented_example_order_is_valid() -> None:
    order = OrderIn.model_validate_json(json.dumps(EXAMPLE))
    assert [item.pizza_id for item in order.items] == ["margherita", "funghi"]


def _errors(body: object) -> dict[str, str]:
    # As the service does: a body is JSON, validated as JSON.
    with pytest.raises(ValidationError) as caught:
        OrderIn.model_validate_json(json.dumps(body))
    return {field_path(e["loc"]): e["type"] for e in caught.value.errors()}


def test_each_invalid_field_is_named() -> None:
    body = json.loads(json.dumps(EXAMPLE))
    body["items"] = [
        {"pizza_id": "hawaii", "size": "SMALL", "quantity": 1},
        {"pizza_id": "margherita", "size": "HUGE", "quantity": 21},
        {"pizza_id": "funghi", "quantity": "2"},
    ]
    del body["delivery_address"]["city"]
    body["customer"]["name"] = "  "
    errors = _errors(body)
    assert errors == {
        "items[0].pizza_id": "unknown_pizza",
        "items[1].size": "enum",
        "items[1].quantity": "less_than_equal",
        "items[2].quantity": "int_type",
        "delivery_address.city": "missing",
        "customer.name": "string_too_short",
    }


def test_no_pizza_chosen() -> None:
    body = {**EXAMPLE, "items": []}
    assert _errors(body) == {"items": "too_short"}


def test_unknown_fields_and_prices_from_the_client_are_refused() -> None:
    body = json.loads(json.dumps(EXAMPLE))
    body["items"][0]["unit_price"] = "0.01"
    assert _errors(body) == {"items[0].unit_price": "extra_forbidden"}


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("de-CH", "de"),
        ("fr-CH, de;q=0.8, en;q=0.5", "de"),
        ("en-GB,de;q=0.9", "en"),
        ("de;q=0, en;q=0.1", "en"),
        ("fr", "en"),
        ("de;q=abc", "en"),
    ],
)
def test_language_follows_accept_language(header: str | None, language: str) -> None:
    assert pick_language(header) == language


def test_messages_exist_in_both_languages_and_fill_in_values() -> None:
    assert field_message("less_than_equal", {"le": 20}, "de") == "Darf höchstens 20 sein."
    assert field_message("less_than_equal", {"le": 20}, "en") == "Must be at most 20."
    assert "hawaii" in field_message("unknown_pizza", {"pizza_id": "hawaii"}, "de")
    assert field_message("no_such_type", None, "de") == "Ungültiger Wert."


def test_field_paths_read_like_json() -> None:
    assert field_path(("items", 0, "quantity")) == "items[0].quantity"
    assert field_path(()) == ""
