"""Who may do what on Kafka: the table the chart's KafkaUsers are held to.

One entry per principal: ``(resource type, name, pattern) -> operations``, the shape of a
Kafka ACL binding (allow, any host). ``PLATFORM`` is the platform's own ACL table
(``pizza_common.contracts.ACLS``, what the local brokers enforce) in Strimzi's words;
``CHART_ONLY`` are the chart's own users (the set-up user, the registry's storage).
Every principal of the table has its KafkaUser: the chart runs every process of the
platform, the web board included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pizza_common.contracts import ACLS, TOPICS

Resource = tuple[str, str, str]  # type, name, literal | prefix
Grants = dict[Resource, frozenset[str]]

# Kafka's resource types as Strimzi's KafkaUser names them.
STRIMZI_TYPES = {
    "TOPIC": "topic",
    "GROUP": "group",
    "TRANSACTIONAL_ID": "transactionalId",
    "CLUSTER": "cluster",
}


# Kafka's operations as Strimzi names them (READ -> Read, DESCRIBE_CONFIGS -> DescribeConfigs).
def _strimzi_operation(operation: str) -> str:
    return "".join(word.title() for word in operation.split("_"))


def _topic(name: str, pattern: str = "literal") -> Resource:
    return ("topic", name, pattern)


def _platform() -> dict[str, Grants]:
    """ACLS per principal. READ and WRITE imply DESCRIBE in Kafka, so a Describe the chart
    lists beside them grants nothing more and is expected there too."""
    table: dict[str, dict[Resource, set[str]]] = {}
    for grant in ACLS:
        resource = (
            STRIMZI_TYPES[grant.resource],
            # Strimzi's cluster resource has no name: there is one, kafka-cluster.
            "" if grant.resource == "CLUSTER" else grant.name,
            "prefix" if grant.prefixed else "literal",
        )
        table.setdefault(grant.principal, {}).setdefault(resource, set()).add(
            _strimzi_operation(grant.operation)
        )
    for grants in table.values():
        for resource, operations in grants.items():
            if resource[0] == "topic" and operations & {"Read", "Write"}:
                operations.add("Describe")
    return {p: {r: frozenset(ops) for r, ops in g.items()} for p, g in table.items()}


PLATFORM: dict[str, Grants] = _platform()

CHART_ONLY: dict[str, Grants] = {
    # Set-up: creates and updates the declared topics (schemas go to the registry).
    "pizza-admin": {
        _topic(topic.name): frozenset(
            {"Create", "Describe", "DescribeConfigs", "Alter", "AlterConfigs"}
        )
        for topic in TOPICS
    },
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
