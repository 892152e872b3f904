"""The HTTP models: request bodies as pydantic models (each field's rule lives in
:mod:`payment_svc.domain`), and the JSON answers, mapped from the domain's values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypedDict
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from payment_svc.domain import (
    MAX_LATENCY_MS,
    DeclineReason,
    DeclineRules,
    KeyState,
    KeyStatus,
    Latency,
    Payment,
    PaymentRequest,
    PaymentStatus,
    SimulationConfig,
    card_digits,
    format_amount,
    parse_amount,
    parse_card_number,
    parse_currency,
)

MAX_DECLINED_CARDS = 100


class PayBody(BaseModel):
    """``POST /pay``: charge ``amount`` in ``currency`` to a card, for an order."""

    # Strict, validated as JSON: the order id is a UUID string, the amount a decimal string
    # or a JSON number (its own rule), and no field is coerced from another JSON type.
    model_config = ConfigDict(strict=True)

    order_id: UUID = Field(examples=["5f0c6b1e-8d7a-4c1e-9b9a-2f4e6a8c0d11"])
    amount: Decimal = Field(
        description="greater than 0, at most 2 decimal places and 9 digits; a string or a number",
        examples=["49.00"],
    )
    currency: str = Field(description="ISO 4217, 3 upper-case letters", examples=["CHF"])
    card_number: str = Field(
        description="12 to 19 digits (spaces allowed), Luhn-valid", examples=["4242424242424242"]
    )

    @field_validator("amount", mode="plain")
    @classmethod
    def _amount(cls, value: Any) -> Decimal:
        return parse_amount(value)

    @field_validator("currency", mode="plain")
    @classmethod
    def _currency(cls, value: Any) -> str:
        return parse_currency(value)

    @field_validator("card_number", mode="plain")
    @classmethod
    def _card_number(cls, value: Any) -> str:
        return parse_card_number(value)

    def to_domain(self) -> PaymentRequest:
        return PaymentRequest(
            order_id=str(self.order_id),
            amount=self.amount,
            currency=self.currency,
            card_number=self.card_number,
        )


class LatencyBody(BaseModel):
    """A fixed latency (``min == max``) or a uniform range, in milliseconds."""

    model_config = ConfigDict(extra="forbid", strict=True)

    min: int = Field(ge=0, le=MAX_LATENCY_MS, examples=[20])
    max: int = Field(ge=0, le=MAX_LATENCY_MS, examples=[80])

    @model_validator(mode="after")
    def _ordered(self) -> LatencyBody:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


CardDeclineReason = Literal["card_declined", "insufficient_funds"]


class SimulationBody(BaseModel):
    """The whole simulation; ``PUT /admin/simulation`` replaces it at once."""

    model_config = ConfigDict(extra="forbid", strict=True)

    latency_ms: LatencyBody
    error_rate: float = Field(ge=0.0, le=1.0, description="share of requests answered 503")
    hang: bool = Field(description="accept requests and never answer them")
    amount_limit: Decimal = Field(
        description="amounts above are declined as amount_over_limit", examples=["500.00"]
    )
    declined_cards: dict[str, CardDeclineReason] = Field(
        description="card number → reason it is declined",
        examples=[{"4000000000000002": "card_declined", "4000000000009995": "insufficient_funds"}],
    )

    @field_validator("amount_limit", mode="plain")
    @classmethod
    def _limit(cls, value: Any) -> Decimal:
        return parse_amount(value)

    @field_validator("declined_cards")
    @classmethod
    def _cards(cls, value: dict[str, CardDeclineReason]) -> dict[str, CardDeclineReason]:
        if len(value) > MAX_DECLINED_CARDS:
            raise ValueError(f"at most {MAX_DECLINED_CARDS} cards")
        cards: dict[str, CardDeclineReason] = {}
        for card, reason in value.items():
            try:
                cards[card_digits(card)] = reason
            except ValueError as exc:
                raise ValueError(f"card {card!r} {exc}") from None
        return cards

    def to_domain(self) -> SimulationConfig:
        return SimulationConfig(
            latency=Latency(self.latency_ms.min, self.latency_ms.max),
            error_rate=self.error_rate,
            hang=self.hang,
            rules=DeclineRules(
                amount_limit=self.amount_limit,
                declined_cards={card: DeclineReason(r) for card, r in self.declined_cards.items()},
            ),
        )


class LatencyJSON(TypedDict):
    min: int
    max: int


class SimulationJSON(TypedDict):
    """The simulation in force, in the shape ``PUT /admin/simulation`` takes."""

    latency_ms: LatencyJSON
    error_rate: float
    hang: bool
    amount_limit: str
    declined_cards: dict[str, str]


def simulation_view(config: SimulationConfig) -> SimulationJSON:
    return {
        "latency_ms": {"min": config.latency.min_ms, "max": config.latency.max_ms},
        "error_rate": config.error_rate,
        "hang": config.hang,
        "amount_limit": format_amount(config.rules.amount_limit),
        "declined_cards": {card: r.value for card, r in config.rules.declined_cards.items()},
    }


def render_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PaymentJSON(TypedDict):
    """A payment as JSON: the body of 201 from POST /pay and of GET /payments/{id}."""

    payment_id: str
    order_id: str
    status: PaymentStatus
    reason: DeclineReason | None
    amount: str
    currency: str
    created_at: str
    voided_at: str | None
    void_reason: str | None


def payment_view(payment: Payment) -> PaymentJSON:
    """The JSON body that describes a payment (POST /pay and GET /payments/{id})."""
    return {
        "payment_id": payment.payment_id,
        "order_id": payment.order_id,
        "status": payment.status,
        "reason": payment.reason,
        "amount": format_amount(payment.amount),
        "currency": payment.currency,
        "created_at": render_timestamp(payment.created_at),
        "voided_at": render_timestamp(payment.voided_at) if payment.voided_at else None,
        "void_reason": payment.void_reason,
    }


class KeyStatusJSON(TypedDict):
    """What an idempotency key stands for: GET /payments/by-key/{key} and its void."""

    idempotency_key: str
    state: KeyState
    payment: PaymentJSON | None


def key_status_view(status: KeyStatus) -> KeyStatusJSON:
    return {
        "idempotency_key": status.key,
        "state": status.state,
        "payment": payment_view(status.payment) if status.payment is not None else None,
    }


class FieldError(TypedDict):
    field: str
    message: str


class _ProblemFields(TypedDict):
    type: str
    title: str
    status: int
    detail: str


# total=False rather than NotRequired: postponed annotations hide NotRequired at run time.
class ProblemJSON(_ProblemFields, total=False):
    """RFC 9457 problem details, as every error of the platform is answered."""

    errors: list[FieldError]
