"""What the invariant checker looks at: plain records read from the client, each
service's database and log, the topics and the lag, with no I/O of their own."""

from __future__ import annotations

from dataclasses import dataclass, field

ACCEPTED = "accepted"
APPROVED = "approved"
# Not final: the payment saga must move an order on from these within its recovery bound.
UNSETTLED = ("payment_pending", "payment_unavailable")
DELIVERED = "delivered"
NOTIFICATION_KINDS = ("on_the_way", "delivered")


@dataclass(frozen=True, slots=True)
class ClientOrder:
    """One order as the soak's client saw it: its key, final outcome and order id."""

    key: str
    outcome: str  # accepted (201), declined (402), unavailable, in_progress, unreachable, ...
    order_id: str | None
    attempts: int = 1
    statuses: tuple[str, ...] = ()  # every answer in turn: "201", "503", "timeout", ...


@dataclass(frozen=True, slots=True)
class OrderRow:
    """A row of order_svc's ``orders`` table."""

    order_id: str
    status: str
    payment_id: str | None


@dataclass(frozen=True, slots=True)
class ChargeRow:
    """A payment of payment_svc's ledger; ``voided`` once it was voided or refunded."""

    payment_id: str
    order_id: str
    status: str  # approved or declined
    voided: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    order_id: str
    status: str


@dataclass(frozen=True, slots=True)
class NotificationRow:
    order_id: str
    kind: str


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A committed record of ``order.placed`` or ``order.ready``.

    ``order_id`` and ``event_id`` are None when the value could not be decoded.
    """

    topic: str
    partition: int
    offset: int
    key: str | None
    order_id: str | None
    event_id: str | None

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record of a ``*.dlq`` topic: the original key, and who put it there and why."""

    topic: str
    key: str | None
    group: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Planted:
    """A poison record the soak wrote on purpose, found again by its key."""

    topic: str
    key: str
    kind: str


@dataclass(frozen=True, slots=True)
class Lag:
    group: str
    topic: str
    partition: int
    lag: int


@dataclass(frozen=True)
class Observed:
    """Everything read after the soak settled."""

    client: list[ClientOrder] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)
    charges: list[ChargeRow] = field(default_factory=list)
    deliveries: list[DeliveryRow] = field(default_factory=list)
    notifications: list[NotificationRow] = field(default_factory=list)
    # delivery_svc's log: one entry per "notification sent" line, and per "delivered" step.
    notification_log: list[NotificationRow] = field(default_factory=list)
    delivered_log: list[str] = field(default_factory=list)
    placed: list[EventRecord] = field(default_factory=list)
    ready: list[EventRecord] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)
    lag: list[Lag] = field(default_factory=list)
    # Partitions a read_committed reader could not read to their end (an open transaction).
    unread: list[str] = field(default_factory=list)
    partitions_read: int = 0
    # Which consumer groups read which topic (each must dead-letter a poison record).
    consumer_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
