"""Payments as plain values: validating what a client asks for, deciding on it, the ledger's
entries, the idempotency key's rules (claims, staleness, voids), and how the simulated
provider misbehaves.

Nothing here does I/O, reads the clock or draws random numbers (the simulation draws from
a source it is given), so every rule is tested without a server.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from pizza_common.contracts import CENT, MAX_AMOUNT

# The card rule of the platform: payment_svc is its one judge. order_svc only checks the
# shape of what a customer types, on purpose, and hands the number on.
MIN_CARD_DIGITS = 12
MAX_CARD_DIGITS = 19
CURRENCY = re.compile(r"[A-Z]{3}")


class PaymentStatus(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    # An approved charge taken back (the order it was for could not be accepted).
    VOIDED = "voided"


class KeyState(StrEnum):
    """What happened under an idempotency key, as a caller reconciling it needs to know."""

    NONE = "none"  # never used, or only by requests that charged nothing: a /pay may still come
    IN_PROGRESS = "in_progress"  # a request holds the key right now
    APPROVED = "approved"
    DECLINED = "declined"
    # Voided: its approved charge was taken back, or (no payment) the key was closed before
    # anything was charged. Either way nothing is charged under it, now or later.
    VOIDED = "voided"


class DeclineReason(StrEnum):
    CARD_DECLINED = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    AMOUNT_OVER_LIMIT = "amount_over_limit"


# Reasons a rule on a card number may give; the amount limit has its own rule.
CARD_DECLINE_REASONS = frozenset({DeclineReason.CARD_DECLINED, DeclineReason.INSUFFICIENT_FUNDS})

DEFAULT_DECLINED_CARDS: Mapping[str, DeclineReason] = MappingProxyType(
    {
        "4000000000000002": DeclineReason.CARD_DECLINED,
        "4000000000009995": DeclineReason.INSUFFICIENT_FUNDS,
    }
)
DEFAULT_AMOUNT_LIMIT = Decimal("500.00")


VOID_REASON = re.compile(r"[a-z0-9_]{1,64}")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a card number (digits only) is a multiple of 10."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_digits(raw: str) -> str:
    """The digits of a card number as typed (spaces allowed); ValueError unless 12 to 19 digits."""
    digits = raw.replace(" ", "")
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("must contain only digits and spaces")
    if not MIN_CARD_DIGITS <= len(digits) <= MAX_CARD_DIGITS:
        raise ValueError(f"must have {MIN_CARD_DIGITS} to {MAX_CARD_DIGITS} digits")
    return digits


def parse_card_number(raw: Any) -> str:
    """A Luhn-valid card number's digits; ValueError with a reason otherwise."""
    if not isinstance(raw, str):
        raise ValueError("must be a string of digits")
    digits = card_digits(raw)
    if not luhn_valid(digits):
        raise ValueError("fails the Luhn check")
    return digits


def parse_amount(raw: Any, *, field_name: str = "amount") -> Decimal:
    """A positive decimal(9, 2) from a decimal string or a JSON number.

    Floats are read through their shortest repr, so ``49.9`` is 49.90 and not
    49.89999…; anything with more than two decimal places is refused, never rounded.
    """
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise ValueError('must be a decimal string such as "49.00" or a number')
    try:
        amount = Decimal(str(raw).strip()) if not isinstance(raw, Decimal) else raw
    except InvalidOperation:
        raise ValueError('must be a decimal number such as "49.00"') from None
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if amount <= 0:
        raise ValueError("must be greater than 0")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError("must have at most 2 decimal places")
    if amount > MAX_AMOUNT:
        raise ValueError(f"must have at most 9 digits (at most {MAX_AMOUNT})")
    return amount.quantize(CENT)


def parse_currency(raw: Any) -> str:
    if not isinstance(raw, str) or CURRENCY.fullmatch(raw) is None:
        raise ValueError("must be 3 upper-case letters (ISO 4217), such as CHF")
    return raw


def format_amount(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """A validated request to charge a card (``card_number`` holds digits only)."""

    order_id: str
    amount: Decimal
    currency: str
    card_number: str

    @property
    def card_last4(self) -> str:
        return self.card_number[-4:]

    def fingerprint(self) -> str:
        """Equal for requests that mean the same payment, whatever their JSON spelling.

        It is what an idempotency key is bound to: the key may be reused only for it.
        """
        canonical = "|".join(
            (self.order_id.lower(), format_amount(self.amount), self.currency, self.card_number)
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class DeclineRules:
    """Which payments are declined: listed test cards, then amounts over the limit."""

    amount_limit: Decimal = DEFAULT_AMOUNT_LIMIT
    declined_cards: Mapping[str, DeclineReason] = field(
        default_factory=lambda: DEFAULT_DECLINED_CARDS
    )

    def __post_init__(self) -> None:
        if self.amount_limit <= 0:
            raise ValueError("the amount limit must be greater than 0")
        for card, reason in self.declined_cards.items():
            card_digits(card)
            if reason not in CARD_DECLINE_REASONS:
                raise ValueError(f"a card cannot be declined with reason {reason}")
        object.__setattr__(self, "declined_cards", MappingProxyType(dict(self.declined_cards)))


@dataclass(frozen=True, slots=True)
class Decision:
    status: PaymentStatus
    reason: DeclineReason | None = None


APPROVED = Decision(PaymentStatus.APPROVED)


def decide(request: PaymentRequest, rules: DeclineRules) -> Decision:
    """Approve, or decline with the first rule that applies (card rules before the limit)."""
    if (reason := rules.declined_cards.get(request.card_number)) is not None:
        return Decision(PaymentStatus.DECLINED, reason)
    if request.amount > rules.amount_limit:
        return Decision(PaymentStatus.DECLINED, DeclineReason.AMOUNT_OVER_LIMIT)
    return APPROVED


# The ledger ------------------------------------------------------------------------------

# Only a live charge can be taken back: a declined payment charged nothing.
VOIDABLE = PaymentStatus.APPROVED


@dataclass(frozen=True, slots=True)
class Payment:
    """One entry of the ledger: a payment decided, approved or declined, maybe voided since."""

    payment_id: str
    order_id: str
    status: PaymentStatus
    reason: DeclineReason | None
    amount: Decimal
    currency: str
    card_last4: str
    created_at: datetime
    voided_at: datetime | None = None
    void_reason: str | None = None

    @classmethod
    def decided(
        cls, payment_id: str, request: PaymentRequest, decision: Decision, *, at: datetime
    ) -> Payment:
        """The entry for ``request`` decided as ``decision`` (the card kept as its last 4)."""
        return cls(
            payment_id=payment_id,
            order_id=request.order_id,
            status=decision.status,
            reason=decision.reason,
            amount=request.amount,
            currency=request.currency,
            card_last4=request.card_last4,
            created_at=at,
        )


# Idempotency keys ------------------------------------------------------------------------


class KeyRecordState(StrEnum):
    """An idempotency key's state as the ledger keeps it (:class:`KeyState` is the public one)."""

    PROCESSING = "processing"  # a request holds the key (its claim)
    COMPLETED = "completed"  # its payment and the answer given are recorded
    # Its charge was voided, or the key closed before any charge (then with an empty
    # fingerprint): nothing is charged under it, ever.
    VOIDED = "voided"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What the rules need to know of an idempotency key the ledger holds."""

    state: KeyRecordState
    fingerprint: str
    claimed_at: datetime


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """What an idempotency key stands for now: its state and its payment, if any."""

    key: str
    state: KeyState
    payment: Payment | None = None


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The answer given the first time a key was used, to give again on a retry."""

    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Claimed:
    """This request holds the key: ``token`` proves it when it records its payment."""

    key: str
    token: str


@dataclass(frozen=True, slots=True)
class Completed:
    """The key was used before for the same request: its first answer."""

    response: StoredResponse


@dataclass(frozen=True, slots=True)
class InProgress:
    """Another request holds the key right now."""


@dataclass(frozen=True, slots=True)
class KeyReused:
    """The key was first used for a different request."""


@dataclass(frozen=True, slots=True)
class KeyVoided:
    """The key was voided: nothing is charged under it, now or later."""


ClaimResult = Claimed | Completed | InProgress | KeyReused | KeyVoided


def claim_is_stale(claimed_at: datetime, stale_before: datetime) -> bool:
    """A claim made before ``stale_before`` was left by a request that died (a crash, a kill).

    ``stale_before`` is now less the stale-claim time, which is kept above the longest
    latency the simulation allows, so a live request never loses its claim.
    """
    return claimed_at < stale_before


class ClaimStep(StrEnum):
    """What a request does about a key that is already in the ledger."""

    REFUSE_VOIDED = "refuse_voided"  # voided: nothing is ever charged under it
    REFUSE_REUSED = "refuse_reused"  # first used for a different request
    REPLAY = "replay"  # completed for the same request: give its first answer again
    WAIT = "wait"  # a live request holds it
    TAKE_OVER = "take_over"  # a request that died holds it: claim it in its place


def claim_step(record: KeyRecord, fingerprint: str, *, stale_before: datetime) -> ClaimStep:
    """The rule for claiming a key the ledger holds, for a request with ``fingerprint``.

    A voided key refuses every request, whatever it asks; a key stays bound to the first
    request's fingerprint; a claim is taken over only once it is stale.
    """
    if record.state is KeyRecordState.VOIDED:
        return ClaimStep.REFUSE_VOIDED
    if record.fingerprint != fingerprint:
        return ClaimStep.REFUSE_REUSED
    if record.state is KeyRecordState.COMPLETED:
        return ClaimStep.REPLAY
    if not claim_is_stale(record.claimed_at, stale_before):
        return ClaimStep.WAIT
    return ClaimStep.TAKE_OVER


class VoidStep(StrEnum):
    """What a void does about a key that is already in the ledger."""

    WAIT = "wait"  # a live request holds it: void it once that one is done
    CLOSE = "close"  # a request that died holds it: close the key under its claim
    TAKE_BACK = "take_back"  # completed: void its payment if that is a live charge
    NOTHING = "nothing"  # voided already: the void is done


def void_step(record: KeyRecord, *, stale_before: datetime) -> VoidStep:
    """The rule for voiding a key the ledger holds (a key it does not hold is just closed)."""
    if record.state is KeyRecordState.PROCESSING:
        if claim_is_stale(record.claimed_at, stale_before):
            return VoidStep.CLOSE
        return VoidStep.WAIT
    if record.state is KeyRecordState.COMPLETED:
        return VoidStep.TAKE_BACK
    return VoidStep.NOTHING


def key_status(key: str, state: KeyRecordState | None, payment: Payment | None) -> KeyStatus:
    """What ``key`` stands for, given its state in the ledger (None: not there) and payment."""
    if state is None:
        return KeyStatus(key, KeyState.NONE)
    if state is KeyRecordState.PROCESSING:
        return KeyStatus(key, KeyState.IN_PROGRESS)
    if state is KeyRecordState.VOIDED:
        return KeyStatus(key, KeyState.VOIDED, payment)
    if payment is None:  # completed keys always have their payment: defensive only
        return KeyStatus(key, KeyState.NONE)
    decided = KeyState.APPROVED if payment.status is PaymentStatus.APPROVED else KeyState.DECLINED
    return KeyStatus(key, decided, payment)


# The simulated provider ------------------------------------------------------------------

MAX_LATENCY_MS = 60_000
_LATENCY = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


class RandomSource(Protocol):
    """What the simulation draws from; :class:`random.Random` is one."""

    def random(self) -> float: ...

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True, slots=True)
class Latency:
    """A fixed delay (``min_ms == max_ms``) or one drawn uniformly from a range."""

    min_ms: int
    max_ms: int

    def __post_init__(self) -> None:
        if not 0 <= self.min_ms <= self.max_ms <= MAX_LATENCY_MS:
            raise ValueError(
                f"latency must satisfy 0 <= min <= max <= {MAX_LATENCY_MS} ms, "
                f"got {self.min_ms}..{self.max_ms}"
            )

    @classmethod
    def parse(cls, text: str) -> Latency:
        """``"40"`` (fixed) or ``"20-80"`` (a range), in milliseconds."""
        match = _LATENCY.fullmatch(text)
        if match is None:
            raise ValueError(f'latency must look like "40" or "20-80" (ms), got {text!r}')
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        return cls(low, high)

    def __str__(self) -> str:
        return str(self.min_ms) if self.min_ms == self.max_ms else f"{self.min_ms}-{self.max_ms}"

    def draw_seconds(self, rng: RandomSource) -> float:
        if self.min_ms == self.max_ms:
            return self.min_ms / 1000
        return rng.uniform(self.min_ms, self.max_ms) / 1000


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """Everything an operator may change at run time (``PUT /admin/simulation``)."""

    latency: Latency = field(default_factory=lambda: Latency(20, 80))
    error_rate: float = 0.03
    hang: bool = False
    rules: DeclineRules = field(default_factory=DeclineRules)

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error rate must be between 0 and 1, got {self.error_rate}")


@dataclass(frozen=True, slots=True)
class Hang:
    """Accept the request and never answer it."""


@dataclass(frozen=True, slots=True)
class Outage:
    """Wait, then answer 503 without charging anything."""

    delay_s: float


@dataclass(frozen=True, slots=True)
class Proceed:
    """Wait, then decide and record the payment."""

    delay_s: float


Outcome = Hang | Outage | Proceed


def simulate(config: SimulationConfig, rng: RandomSource) -> Outcome:
    """What happens to the next request under ``config``.

    Hang mode wins over everything; otherwise a request fails with probability
    ``error_rate`` (1.0 always fails, 0.0 never does), and either way waits a latency.
    """
    if config.hang:
        return Hang()
    failed = rng.random() < config.error_rate
    delay = config.latency.draw_seconds(rng)
    return Outage(delay) if failed else Proceed(delay)
