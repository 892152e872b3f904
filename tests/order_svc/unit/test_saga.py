"""The saga's decisions: what becomes of an unsettled order, given what payment says."""

from __future__ import annotations

from datetime import timedelta

import pytest

from order_svc.domain import (
    TOO_LATE,
    UNCONFIRMED,
    Accept,
    Action,
    Cancel,
    ChargeState,
    ChargeStatus,
    Decline,
    Void,
    Wait,
    decide,
    payment_key,
)

WITHIN = timedelta(minutes=15)
YOUNG = timedelta(seconds=40)
OLD = timedelta(hours=1)


@pytest.mark.parametrize(
    ("charge", "age", "action"),
    [
        (ChargeStatus(ChargeState.APPROVED, "pay_1"), YOUNG, Accept("pay_1")),
        (ChargeStatus(ChargeState.APPROVED, "pay_1"), WITHIN, Accept("pay_1")),
        (ChargeStatus(ChargeState.APPROVED, "pay_1"), OLD, Void(TOO_LATE)),
        (
            ChargeStatus(ChargeState.DECLINED, "pay_2", "card_declined"),
            OLD,
            Decline("pay_2", "card_declined"),
        ),
        (ChargeStatus(ChargeState.NONE), YOUNG, Void(UNCONFIRMED)),
        (ChargeStatus(ChargeState.VOIDED, "pay_3"), YOUNG, Cancel("pay_3")),
        (ChargeStatus(ChargeState.VOIDED), YOUNG, Cancel(None)),
        # A claim whose request died stays in progress for good: only a void ends it.
        (ChargeStatus(ChargeState.IN_PROGRESS), OLD, Void(UNCONFIRMED)),
    ],
)
def test_what_payment_says_decides_the_order(
    charge: ChargeStatus, age: timedelta, action: Action
) -> None:
    decided = decide(charge, order_age=age, accept_within=WITHIN)
    if isinstance(action, Wait):
        assert isinstance(decided, Wait)
    else:
        assert decided == action


def test_nothing_charged_is_never_final_before_the_key_is_closed() -> None:
    # "none" may be a request still on its way to payment: the key is voided first, so
    # that nothing can be charged after the order is cancelled.
    assert isinstance(
        decide(ChargeStatus(ChargeState.NONE), order_age=OLD, accept_within=WITHIN), Void
    )


def test_an_approval_is_never_accepted_too_late_nor_cancelled_while_it_stands() -> None:
    approved = ChargeStatus(ChargeState.APPROVED, "pay_1")
    for age in (timedelta(0), YOUNG, WITHIN, WITHIN + timedelta(seconds=1), OLD):
        decided = decide(approved, order_age=age, accept_within=WITHIN)
        assert not isinstance(decided, Cancel | Decline | Wait)
        assert isinstance(decided, Accept) == (age <= WITHIN)


def test_each_order_has_one_payment_key() -> None:
    assert payment_key("5f0c6b1e") == "order-5f0c6b1e"
