"""The ledger's rules without a database: payments as recorded, the idempotency key's
claims and their staleness, voids, and what a key stands for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from payment_svc.domain import (
    APPROVED,
    VOIDABLE,
    ClaimStep,
    Decision,
    DeclineReason,
    KeyRecord,
    KeyRecordState,
    KeyState,
    KeyStatus,
    Payment,
    PaymentRequest,
    PaymentStatus,
    VoidStep,
    claim_is_stale,
    claim_step,
    key_status,
    void_step,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
STALE_BEFORE = NOW - timedelta(seconds=120)
FRESH = NOW - timedelta(seconds=1)
LONG_AGO = NOW - timedelta(hours=1)
REQUEST = PaymentRequest(
    "5f0c6b1e-8d7a-4c1e-9b9a-2f4e6a8c0d11", Decimal("49.00"), "CHF", "4242424242424242"
)
FINGERPRINT = REQUEST.fingerprint()


def _payment(status: PaymentStatus = PaymentStatus.APPROVED) -> Payment:
    reason = DeclineReason.CARD_DECLINED if status is PaymentStatus.DECLINED else None
    return Payment.decided("pay_1", REQUEST, Decision(status, reason), at=NOW)


def _record(state: KeyRecordState, claimed_at: datetime = FRESH) -> KeyRecord:
    return KeyRecord(state, FINGERPRINT, claimed_at)


def test_a_decided_payment_keeps_the_request_and_only_the_cards_last_four() -> None:
    payment = Payment.decided("pay_1", REQUEST, APPROVED, at=NOW)
    assert payment == Payment(
        payment_id="pay_1",
        order_id=REQUEST.order_id,
        status=PaymentStatus.APPROVED,
        reason=None,
        amount=Decimal("49.00"),
        currency="CHF",
        card_last4="4242",
        created_at=NOW,
    )
    assert (payment.voided_at, payment.void_reason) == (None, None)


def test_a_declined_payment_keeps_its_reason() -> None:
    payment = _payment(PaymentStatus.DECLINED)
    assert (payment.status, payment.reason) == (
        PaymentStatus.DECLINED,
        DeclineReason.CARD_DECLINED,
    )


@pytest.mark.parametrize(
    ("status", "voidable"),
    [
        (PaymentStatus.APPROVED, True),
        (PaymentStatus.DECLINED, False),
        (PaymentStatus.VOIDED, False),
    ],
)
def test_only_a_live_charge_can_be_voided(status: PaymentStatus, voidable: bool) -> None:
    assert (_payment(status).status is VOIDABLE) is voidable


def test_a_claim_is_stale_only_when_made_before_the_bound() -> None:
    assert claim_is_stale(LONG_AGO, STALE_BEFORE)
    assert claim_is_stale(STALE_BEFORE - timedelta(milliseconds=1), STALE_BEFORE)
    assert not claim_is_stale(STALE_BEFORE, STALE_BEFORE)  # exactly at the bound: still live
    assert not claim_is_stale(FRESH, STALE_BEFORE)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (_record(KeyRecordState.COMPLETED), ClaimStep.REPLAY),
        (_record(KeyRecordState.PROCESSING), ClaimStep.WAIT),
        (_record(KeyRecordState.PROCESSING, STALE_BEFORE), ClaimStep.WAIT),
        (_record(KeyRecordState.PROCESSING, LONG_AGO), ClaimStep.TAKE_OVER),
        (_record(KeyRecordState.VOIDED), ClaimStep.REFUSE_VOIDED),
        (_record(KeyRecordState.VOIDED, LONG_AGO), ClaimStep.REFUSE_VOIDED),
    ],
)
def test_claiming_a_key_of_the_same_request(record: KeyRecord, expected: ClaimStep) -> None:
    assert claim_step(record, FINGERPRINT, stale_before=STALE_BEFORE) is expected


@pytest.mark.parametrize("state", [KeyRecordState.COMPLETED, KeyRecordState.PROCESSING])
@pytest.mark.parametrize("claimed_at", [FRESH, LONG_AGO])
def test_a_key_stays_bound_to_its_first_request(
    state: KeyRecordState, claimed_at: datetime
) -> None:
    # Even a stale claim is not taken over by a different request.
    record = _record(state, claimed_at)
    assert claim_step(record, "another", stale_before=STALE_BEFORE) is ClaimStep.REFUSE_REUSED


def test_a_voided_key_refuses_every_request_first() -> None:
    # A key closed unused has an empty fingerprint: still "voided", never "reused".
    closed = KeyRecord(KeyRecordState.VOIDED, "", FRESH)
    assert claim_step(closed, FINGERPRINT, stale_before=STALE_BEFORE) is ClaimStep.REFUSE_VOIDED


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (_record(KeyRecordState.PROCESSING), VoidStep.WAIT),
        (_record(KeyRecordState.PROCESSING, STALE_BEFORE), VoidStep.WAIT),
        (_record(KeyRecordState.PROCESSING, LONG_AGO), VoidStep.CLOSE),
        (_record(KeyRecordState.COMPLETED), VoidStep.TAKE_BACK),
        (_record(KeyRecordState.COMPLETED, LONG_AGO), VoidStep.TAKE_BACK),
        (_record(KeyRecordState.VOIDED), VoidStep.NOTHING),
    ],
)
def test_voiding_a_key(record: KeyRecord, expected: VoidStep) -> None:
    assert void_step(record, stale_before=STALE_BEFORE) is expected


def test_what_a_key_stands_for() -> None:
    approved, declined = _payment(), _payment(PaymentStatus.DECLINED)
    voided = _payment(PaymentStatus.VOIDED)
    assert key_status("k", None, None) == KeyStatus("k", KeyState.NONE)
    assert key_status("k", KeyRecordState.PROCESSING, None) == KeyStatus("k", KeyState.IN_PROGRESS)
    assert key_status("k", KeyRecordState.COMPLETED, approved) == KeyStatus(
        "k", KeyState.APPROVED, approved
    )
    assert key_status("k", KeyRecordState.COMPLETED, declined) == KeyStatus(
        "k", KeyState.DECLINED, declined
    )
    assert key_status("k", KeyRecordState.VOIDED, voided) == KeyStatus("k", KeyState.VOIDED, voided)
    # A declined payment's key voided: still voided, with the payment as it is.
    assert key_status("k", KeyRecordState.VOIDED, declined) == KeyStatus(
        "k", KeyState.VOIDED, declined
    )
    # A key closed before anything was charged.
    assert key_status("k", KeyRecordState.VOIDED, None) == KeyStatus("k", KeyState.VOIDED)
    # A completed key always has its payment; without one nothing is charged under it.
    assert key_status("k", KeyRecordState.COMPLETED, None) == KeyStatus("k", KeyState.NONE)


def test_the_ledgers_key_states_are_the_stored_strings() -> None:
    assert [state.value for state in KeyRecordState] == ["processing", "completed", "voided"]
