"""Who may do what on Kafka: one principal per service and its grants, declared once.

Everything not granted here is refused (the brokers deny by default). The dev tooling
creates these ACLs (``pizza-ctl topics-apply``, and ``just infra-up``); Docker Compose's
set-up job does the same, and a deployment's manifests can be generated or checked from
this table. The administrator (topics, users, ACLs) and the brokers themselves are super
users of the deployment, not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pizza_common.contracts._events import (
    DELIVERY_GROUP,
    KITCHEN_GROUP,
    ORDER_PLACED,
    ORDER_READY,
    dead_letter_topic,
)

ORDER_PRINCIPAL: Final = "order-svc"
KITCHEN_PRINCIPAL: Final = "kitchen-svc"
DELIVERY_PRINCIPAL: Final = "delivery-svc"
LAG_EXPORTER_PRINCIPAL: Final = "lag-exporter"
BOARD_PRINCIPAL: Final = "board"
# Not a service of its own: the board's replays of dead letters write as this principal,
# whose password it is given only where replay is meant to be possible.
DLQ_REPLAYER_PRINCIPAL: Final = "dlq-replayer"
PRINCIPALS: Final = (
    ORDER_PRINCIPAL,
    KITCHEN_PRINCIPAL,
    DELIVERY_PRINCIPAL,
    LAG_EXPORTER_PRINCIPAL,
    BOARD_PRINCIPAL,
    DLQ_REPLAYER_PRINCIPAL,
)
# The topics whose dead letters exist (``<topic>.dlq``): where a replay writes back to.
REPLAYABLE_TOPICS: Final = (ORDER_PLACED, ORDER_READY)

# Each kitchen instance's transactional id starts so (then its instance id): a restarted
# instance fences its own earlier incarnation, and no other principal can fence kitchens.
KITCHEN_TRANSACTIONAL_ID_PREFIX: Final = f"{KITCHEN_GROUP}-tx-"
# The one name Kafka knows the CLUSTER resource by.
KAFKA_CLUSTER: Final = "kafka-cluster"

Operation = Literal["READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS"]
Resource = Literal["TOPIC", "GROUP", "TRANSACTIONAL_ID", "CLUSTER"]


@dataclass(frozen=True, slots=True)
class Grant:
    """``principal`` may do ``operation`` on the resource named ``name`` (``*``: every
    resource of the type), or, ``prefixed``, on every resource whose name starts so."""

    principal: str
    operation: Operation
    resource: Resource
    name: str
    prefixed: bool = False

    @property
    def pattern(self) -> Literal["LITERAL", "PREFIXED"]:
        return "PREFIXED" if self.prefixed else "LITERAL"


def _reads(principal: str, group: str, *topics: str) -> tuple[Grant, ...]:
    """A consumer group member: read the topics, join and commit as the group."""
    return (
        *(Grant(principal, "READ", "TOPIC", topic) for topic in topics),
        Grant(principal, "READ", "GROUP", group),
    )


def _dead_letters(principal: str, *topics: str) -> tuple[Grant, ...]:
    """The consumer copies a record it cannot process to ``<topic>.dlq``."""
    return tuple(Grant(principal, "WRITE", "TOPIC", dead_letter_topic(t)) for t in topics)


ACLS: tuple[Grant, ...] = (
    # order_svc publishes an order only after its payment was approved (the outbox):
    # the one principal that can say an order was placed. Its idempotent producer needs
    # nothing more than WRITE (Kafka 3+ asks no IdempotentWrite on the cluster).
    Grant(ORDER_PRINCIPAL, "WRITE", "TOPIC", ORDER_PLACED),
    # kitchen cooks what was placed and says when it is ready, in one transaction with
    # its consumed offsets.
    *_reads(KITCHEN_PRINCIPAL, KITCHEN_GROUP, ORDER_PLACED),
    Grant(KITCHEN_PRINCIPAL, "WRITE", "TOPIC", ORDER_READY),
    *_dead_letters(KITCHEN_PRINCIPAL, ORDER_PLACED),
    Grant(KITCHEN_PRINCIPAL, "WRITE", "TRANSACTIONAL_ID", KITCHEN_TRANSACTIONAL_ID_PREFIX, True),
    Grant(KITCHEN_PRINCIPAL, "DESCRIBE", "TRANSACTIONAL_ID", KITCHEN_TRANSACTIONAL_ID_PREFIX, True),
    # delivery learns of orders and of pizzas ready; it writes nothing but dead letters.
    *_reads(DELIVERY_PRINCIPAL, DELIVERY_GROUP, ORDER_PLACED, ORDER_READY),
    *_dead_letters(DELIVERY_PRINCIPAL, ORDER_PLACED, ORDER_READY),
    # The lag exporter reads offsets, never records: DESCRIBE on every topic and group
    # (the end offsets, the groups' committed offsets).
    Grant(LAG_EXPORTER_PRINCIPAL, "DESCRIBE", "TOPIC", "*"),
    Grant(LAG_EXPORTER_PRINCIPAL, "DESCRIBE", "GROUP", "*"),
    # The web board shows the cluster and its records, and changes nothing: it describes
    # every topic (partitions, offsets) and its settings, reads records of every topic (the
    # record browser, an order's events), and describes every group (members, committed
    # offsets, lag). Its record reader assigns partitions by hand and never commits: it
    # carries a group id only because the client requires one, and never joins that group
    # or reads its offsets, so it holds no READ on any group.
    Grant(BOARD_PRINCIPAL, "DESCRIBE", "TOPIC", "*"),
    Grant(BOARD_PRINCIPAL, "DESCRIBE_CONFIGS", "TOPIC", "*"),
    Grant(BOARD_PRINCIPAL, "READ", "TOPIC", "*"),
    Grant(BOARD_PRINCIPAL, "DESCRIBE", "GROUP", "*"),
    # Its topics page shows each topic's size in bytes, which only DescribeLogDirs tells,
    # and Kafka answers that only to DESCRIBE on the cluster. The same right lets it read
    # the cluster's set-up too (the ACLs, which users have SCRAM credentials but never the
    # credentials, reassignments, the quorum): no record, no setting, no change.
    Grant(BOARD_PRINCIPAL, "DESCRIBE", "CLUSTER", KAFKA_CLUSTER),
    # Replaying a dead letter writes it back to its source topic, so whoever replays can
    # put any record there: that right is kept off the board's own principal (which every
    # board holds, replay enabled or not) and given to one of its own, WRITE on the source
    # topics and nothing else. The board reads the dead letters as itself.
    *(Grant(DLQ_REPLAYER_PRINCIPAL, "WRITE", "TOPIC", topic) for topic in REPLAYABLE_TOPICS),
)
