"""The facts the services share are declared once and agree with the shipped schemas."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest

from pizza_common.contracts import (
    CENT,
    CONSUMER_GROUPS,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_KEY_MIN_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
    IDEMPOTENCY_KEY_RULE,
    MAX_AMOUNT,
    MAX_QUANTITY,
    TOPICS,
    dead_letter_topic,
    is_valid_idempotency_key,
    load_schema_text,
    topics_with_schemas,
)


def test_topics_are_declared_once_and_every_event_topic_has_its_contract() -> None:
    names = [topic.name for topic in TOPICS]
    assert len(names) == len(set(names))
    with_contract = sorted(topic.name for topic in TOPICS if topic.has_contract)
    assert with_contract == topics_with_schemas()
    for name in with_contract:
        assert dead_letter_topic(name) in names  # nothing undecodable is ever dropped


def test_consumer_groups_read_declared_topics_only() -> None:
    declared = {topic.name for topic in TOPICS}
    for topics in CONSUMER_GROUPS.values():
        assert set(topics) <= declared


def test_the_order_contract_documents_the_shared_quantity_limit() -> None:
    schema = json.loads(load_schema_text("order.placed"))
    docs = [
        field["doc"]
        for item in _records(schema)
        for field in item["fields"]
        if field["name"] == "quantity"
    ]
    assert docs == [f"1 to {MAX_QUANTITY}."]


def test_the_money_limits_are_the_contracts_decimal_type() -> None:
    schema = json.loads(load_schema_text("order.placed"))
    money = [
        field["type"]
        for record in _records(schema)
        for field in record["fields"]
        if isinstance(field["type"], dict) and field["type"].get("logicalType") == "decimal"
    ]
    assert money  # total and unit_price
    for decimal_type in money:
        scale, precision = decimal_type["scale"], decimal_type["precision"]
        assert Decimal(1).scaleb(-scale) == CENT
        assert Decimal(10**precision - 1).scaleb(-scale) == MAX_AMOUNT


def test_the_idempotency_key_rule_in_words_is_the_pattern() -> None:
    assert IDEMPOTENCY_KEY_PATTERN.fullmatch("a" * IDEMPOTENCY_KEY_MIN_LENGTH)
    assert IDEMPOTENCY_KEY_PATTERN.fullmatch("a" * IDEMPOTENCY_KEY_MAX_LENGTH)
    assert not IDEMPOTENCY_KEY_PATTERN.fullmatch("a" * (IDEMPOTENCY_KEY_MAX_LENGTH + 1))
    lengths = re.match(r"(\d+) to (\d+) characters", IDEMPOTENCY_KEY_RULE)
    assert lengths is not None
    assert lengths.groups() == (str(IDEMPOTENCY_KEY_MIN_LENGTH), str(IDEMPOTENCY_KEY_MAX_LENGTH))


def _records(schema: Any) -> list[dict[str, Any]]:
    """Every record schema nested in ``schema``."""
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "record":
            found.append(schema)
        for value in schema.values():
            found += _records(value)
    elif isinstance(schema, list):
        for value in schema:
            found += _records(value)
    return found


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("order-1", True),
        ("a" * 128, True),
        ("A.b_c:d-9", True),
        ("a" * 129, False),
        ("", False),
        (None, False),
        ("key\n", False),  # the whole text must match, a trailing newline included
        ("käse", False),
        ("with space", False),
    ],
)
def test_idempotency_keys_both_services_accept(key: str | None, valid: bool) -> None:
    assert is_valid_idempotency_key(key) is valid
