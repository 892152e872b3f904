"""The kitchen's rules as plain values: one ticket per order, what may be cooked, and what
to do with an order.placed given its ticket.

Nothing here does I/O, reads the clock or draws random numbers, so every rule is tested
without a broker or a database.

A ticket goes ``cooking`` → ``ready`` (its order.ready is fixed: id and times) →
``published`` (the transaction that sent it committed). Only the instance that owns an
order's partition touches its ticket, so a ``cooking`` ticket found there was left by a
cook that did not finish (its instance died, or gave the record back): it is cooked again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import assert_never

from pizza_common.contracts import MAX_QUANTITY, OrderPlaced, OrderReady, to_millis


def why_uncookable(order: OrderPlaced) -> str | None:
    """A reason the kitchen refuses ``order``, or None if it can be cooked."""
    for item in order.items:
        if not 1 <= item.quantity <= MAX_QUANTITY:
            return f"{item.pizza_id}: quantity {item.quantity} is not 1 to {MAX_QUANTITY}"
    return None


class TicketStatus(StrEnum):
    COOKING = "cooking"
    READY = "ready"
    PUBLISHED = "published"


class TicketTransitionError(ValueError):
    """A ticket was asked to move to a status it cannot reach from its own."""


@dataclass(frozen=True, slots=True)
class Ticket:
    order_id: str
    placed_event_id: str
    status: TicketStatus
    instance: str
    pizza_count: int
    # Where the order.placed was read: the record whose offset commits with the order.ready.
    source_partition: int
    source_offset: int
    cook_started_at: datetime
    ready_at: datetime | None
    ready_event_id: str | None
    published_at: datetime | None = None

    @classmethod
    def cooking(
        cls,
        order: OrderPlaced,
        *,
        instance: str,
        partition: int,
        offset: int,
        started_at: datetime,
    ) -> Ticket:
        """A cook of ``order`` starting at ``instance``: a new ticket, or the one that takes
        over a cook left unfinished (same order id, so it replaces that ticket)."""
        return cls(
            order_id=order.order_id,
            placed_event_id=order.event_id,
            status=TicketStatus.COOKING,
            instance=instance,
            pizza_count=order.pizza_count,
            cook_started_at=started_at,
            ready_at=None,
            ready_event_id=None,
            source_partition=partition,
            source_offset=offset,
        )

    def cooked(self, *, ready_at: datetime, ready_event_id: str) -> Ticket:
        """cooking → ready: the order.ready this ticket sends from now on is fixed here,
        its id included, so a re-send is the same event."""
        self._require(TicketStatus.COOKING, TicketStatus.READY)
        return replace(
            self,
            status=TicketStatus.READY,
            ready_at=to_millis(ready_at),
            ready_event_id=ready_event_id,
        )

    def published(self, *, at: datetime) -> Ticket:
        """ready → published: the transaction carrying its order.ready committed."""
        self._require(TicketStatus.READY, TicketStatus.PUBLISHED)
        return replace(self, status=TicketStatus.PUBLISHED, published_at=at)

    def ready_event(self) -> OrderReady:
        """The order.ready of this ticket; the same event (and id) each time it is sent."""
        if self.ready_at is None or self.ready_event_id is None:
            raise ValueError(f"ticket {self.order_id} is not cooked yet")
        return OrderReady(
            order_id=self.order_id,
            placed_event_id=self.placed_event_id,
            kitchen_instance=self.instance,
            cook_started_at=self.cook_started_at,
            ready_at=self.ready_at,
            pizza_count=self.pizza_count,
            event_id=self.ready_event_id,
        )

    def _require(self, status: TicketStatus, target: TicketStatus) -> None:
        if self.status is not status:
            raise TicketTransitionError(
                f"ticket {self.order_id} is {self.status}, not {status}: cannot become {target}"
            )


@dataclass(frozen=True, slots=True)
class Cook:
    """Cook the order here. ``abandoned`` is the ticket of a cook that did not finish, if
    there was one; it is taken over."""

    abandoned: Ticket | None = None


@dataclass(frozen=True, slots=True)
class Resend:
    """Cooked, but maybe not published (the transaction may have aborted): send the
    ticket's order.ready again, the same event with the same id."""

    ticket: Ticket


@dataclass(frozen=True, slots=True)
class Skip:
    """Its order.ready was published: this order.placed is a duplicate."""

    ticket: Ticket


Step = Cook | Resend | Skip


def next_step(ticket: Ticket | None) -> Step:
    """What to do with an order.placed whose order has ``ticket`` (None: never seen)."""
    if ticket is None:
        return Cook()
    match ticket.status:
        case TicketStatus.COOKING:
            return Cook(abandoned=ticket)
        case TicketStatus.READY:
            return Resend(ticket)
        case TicketStatus.PUBLISHED:
            return Skip(ticket)
        case _:
            assert_never(ticket.status)
