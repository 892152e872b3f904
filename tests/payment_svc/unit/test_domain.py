"""Validation and decline rules of payment_svc, without a server."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payment_svc.domain import (
    DeclineReason,
    DeclineRules,
    PaymentRequest,
    PaymentStatus,
    card_digits,
    decide,
    luhn_valid,
    parse_amount,
    parse_card_number,
    parse_currency,
)
from pizza_common.contracts import is_valid_idempotency_key
from tests.payment_svc.conftest import APPROVING_CARD

ORDER_ID = "5f0c6b1e-8d7a-4c1e-9b9a-2f4e6a8c0d11"


def _request(card: str = APPROVING_CARD, amount: str = "49.00") -> PaymentRequest:
    return PaymentRequest(ORDER_ID, Decimal(amount), "CHF", card)


@pytest.mark.parametrize(
    "digits",
    ["4242424242424242", "4000000000000002", "4000000000009995", "79927398713", "0"],
)
def test_luhn_accepts_valid_numbers(digits: str) -> None:
    assert luhn_valid(digits)


@pytest.mark.parametrize(
    "digits", ["4242424242424241", "4000000000000003", "79927398710", "12a4", "", "\uff14\uff12"]
)
def test_luhn_refuses_invalid_numbers(digits: str) -> None:
    assert not luhn_valid(digits)


def test_card_number_spaces_are_stripped() -> None:
    assert parse_card_number("4242 4242 4242 4242") == "4242424242424242"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("4242-4242-4242-4242", "only digits"),
        ("42424242424", "12 to 19 digits"),
        ("42424242424242424242", "12 to 19 digits"),
        ("4242424242424241", "Luhn"),
        (4242424242424242, "string"),
    ],
)
def test_card_number_refusals_say_why(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_card_number(raw)


def test_card_digits_do_not_check_luhn() -> None:
    # Decline rules may list any card number, valid checksum or not.
    assert card_digits("1234 5678 9012") == "123456789012"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("49.00", "49.00"),
        ("49", "49.00"),
        ("0.01", "0.01"),
        (" 12.5 ", "12.50"),
        (49, "49.00"),
        (49.9, "49.90"),
        (Decimal("9999999.99"), "9999999.99"),
        ("1E+2", "100.00"),
    ],
)
def test_amounts_accepted(raw: object, expected: str) -> None:
    assert str(parse_amount(raw)) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "greater than 0"),
        ("-1.00", "greater than 0"),
        ("49.001", "2 decimal places"),
        ("49.000", "2 decimal places"),
        (0.1 + 0.2, "2 decimal places"),
        ("10000000.00", "9 digits"),
        ("1e30", "9 digits"),
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("forty", "decimal number"),
        ("", "decimal number"),
        (True, "decimal string"),
        (None, "decimal string"),
        ([49], "decimal string"),
    ],
)
def test_amounts_refused(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_amount(raw)


@pytest.mark.parametrize("raw", ["CHF", "EUR", "USD"])
def test_currency_accepted(raw: str) -> None:
    assert parse_currency(raw) == raw


@pytest.mark.parametrize("raw", ["chf", "CH", "CHFF", "C1F", "", None, 756])
def test_currency_refused(raw: object) -> None:
    with pytest.raises(ValueError, match="3 upper-case letters"):
        parse_currency(raw)


@pytest.mark.parametrize("key", ["a", "order-1:attempt.2_x", "A" * 128])
def test_idempotency_keys_accepted(key: str) -> None:
    assert is_valid_idempotency_key(key)


@pytest.mark.parametrize("key", [None, "", "A" * 129, "has space", "slash/", "é", "a\n"])
def test_idempotency_keys_refused(key: str | None) -> None:
    assert not is_valid_idempotency_key(key)


def test_approving_card_is_approved() -> None:
    decision = decide(_request(), DeclineRules())
    assert decision.status is PaymentStatus.APPROVED
    assert decision.reason is None


@pytest.mark.parametrize(
    ("card", "reason"),
    [
        ("4000000000000002", DeclineReason.CARD_DECLINED),
        ("4000000000009995", DeclineReason.INSUFFICIENT_FUNDS),
    ],
)
def test_test_cards_are_declined(card: str, reason: DeclineReason) -> None:
    decision = decide(_request(card), DeclineRules())
    assert decision.status is PaymentStatus.DECLINED
    assert decision.reason is reason


def test_amount_limit_is_inclusive() -> None:
    rules = DeclineRules(amount_limit=Decimal("500.00"))
    assert decide(_request(amount="500.00"), rules).status is PaymentStatus.APPROVED
    over = decide(_request(amount="500.01"), rules)
    assert over.status is PaymentStatus.DECLINED
    assert over.reason is DeclineReason.AMOUNT_OVER_LIMIT


def test_card_rule_wins_over_amount_limit() -> None:
    decision = decide(_request("4000000000009995", "900.00"), DeclineRules())
    assert decision.reason is DeclineReason.INSUFFICIENT_FUNDS


def test_rules_are_configurable() -> None:
    rules = DeclineRules(
        amount_limit=Decimal("10.00"),
        declined_cards={APPROVING_CARD: DeclineReason.CARD_DECLINED},
    )
    assert decide(_request(), rules).reason is DeclineReason.CARD_DECLINED
    assert decide(_request("4000000000000002", "5.00"), rules).status is PaymentStatus.APPROVED


def test_rules_refuse_a_card_rule_with_the_limit_reason() -> None:
    with pytest.raises(ValueError, match="cannot be declined"):
        DeclineRules(declined_cards={APPROVING_CARD: DeclineReason.AMOUNT_OVER_LIMIT})


def test_rules_refuse_a_non_positive_limit() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        DeclineRules(amount_limit=Decimal(0))


def test_fingerprint_ignores_spelling_but_not_meaning() -> None:
    base = _request()
    same = PaymentRequest(ORDER_ID.upper(), Decimal("49"), "CHF", APPROVING_CARD)
    assert base.fingerprint() == same.fingerprint()
    assert base.fingerprint() != _request(amount="49.01").fingerprint()
    assert base.fingerprint() != _request(card="4000000000000002").fingerprint()
    other_currency = PaymentRequest(ORDER_ID, Decimal("49.00"), "EUR", APPROVING_CARD)
    assert base.fingerprint() != other_currency.fingerprint()
