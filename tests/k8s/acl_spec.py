"""Who may do what on Kafka: the table the chart's KafkaUsers are held to.

One entry per principal: ``(resource type, name, pattern) -> operations``, the shape of a
Kafka ACL binding (allow, any host), written from the contracts' own names so that a
renamed topic or group changes it too. When the platform's own ACL table exists, it
replaces ``PLATFORM`` here; ``CHART_ONLY`` stays the chart's (the registry's storage).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kitchen_svc.settings import KitchenSettings
from pizza_common.contracts import (
    CONSUMER_GROUPS,
    DELIVERY_GROUP,
    KITCHEN_GROUP,
    ORDER_PLACED,
    ORDER_READY,
    TOPICS,
    dead_letter_topic,
)

Resource = tuple[str, str, str]  # type, name, literal | prefix
Grants = dict[Resource, frozenset[str]]

PRODUCE = frozenset({"Write", "Describe"})
CONSUME = frozenset({"Read", "Describe"})


def _topic(name: str, pattern: str = "literal") -> Resource:
    return ("topic", name, pattern)


def _kitchen_transactions() -> Resource:
    # kitchen's transactional.id is <prefix><instance>: the prefix is what remains.
    instance = "any"
    prefix = KitchenSettings(instance=instance).transactional_id.removesuffix(instance)
    return ("transactionalId", prefix, "prefix")


PLATFORM: dict[str, Grants] = {
    "order-svc": {_topic(ORDER_PLACED): PRODUCE},
    "kitchen-svc": {
        _topic(ORDER_PLACED): CONSUME,
        ("group", KITCHEN_GROUP, "literal"): frozenset({"Read"}),
        _topic(ORDER_READY): PRODUCE,
        _topic(dead_letter_topic(ORDER_PLACED)): PRODUCE,
        _kitchen_transactions(): PRODUCE,
    },
    # Delivery dead-letters a record of either topic it reads into that topic's .dlq.
    "delivery-svc": {
        **{_topic(topic): CONSUME for topic in CONSUMER_GROUPS[DELIVERY_GROUP]},
        ("group", DELIVERY_GROUP, "literal"): frozenset({"Read"}),
        **{_topic(dead_letter_topic(t)): PRODUCE for t in CONSUMER_GROUPS[DELIVERY_GROUP]},
    },
    # Lag: end offsets of every consumed topic, committed offsets of every group.
    "lag-exporter": {
        **{
            _topic(topic): frozenset({"Describe"})
            for topics in CONSUMER_GROUPS.values()
            for topic in topics
        },
        **{("group", group, "literal"): frozenset({"Describe"}) for group in CONSUMER_GROUPS},
    },
    # Set-up: creates and updates the declared topics (schemas go to the registry).
    "pizza-admin": {
        _topic(topic.name): frozenset(
            {"Create", "Describe", "DescribeConfigs", "Alter", "AlterConfigs"}
        )
        for topic in TOPICS
    },
}

CHART_ONLY: dict[str, Grants] = {
    "schema-registry": {
        _topic("kafkasql-", "prefix"): frozenset({"All"}),
        ("group", "pizza-registry-", "prefix"): frozenset({"Read", "Describe"}),
    },
}

EXPECTED: dict[str, Grants] = {**PLATFORM, **CHART_ONLY}


def granted(user: Mapping[str, Any]) -> Grants:
    """A rendered KafkaUser's ACLs in the table's shape (allow rules, any host, only)."""
    grants: Grants = {}
    for acl in user["spec"]["authorization"]["acls"]:
        assert acl.get("type", "allow") == "allow"
        assert acl.get("host", "*") == "*"
        resource = acl["resource"]
        key = (resource["type"], resource.get("name", ""), resource.get("patternType", "literal"))
        assert key not in grants, f"{key} twice"
        grants[key] = frozenset(acl["operations"])
    return grants
