"""The facts the services share are declared once and agree with the shipped schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pizza_common.contracts import (
    CONSUMER_GROUPS,
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
