"""Messages for customers in German or English, chosen by ``Accept-Language``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

Language = Literal["de", "en"]
DEFAULT_LANGUAGE: Language = "en"

# Keyed by pydantic's error type (and our own, e.g. unknown_pizza); {ctx} values fill in.
FIELD_MESSAGES: dict[str, dict[Language, str]] = {
    "missing": {"en": "This field is required.", "de": "Dieses Feld ist erforderlich."},
    "string_type": {"en": "Must be text.", "de": "Muss ein Text sein."},
    "string_too_short": {
        "en": "Must not be empty.",
        "de": "Darf nicht leer sein.",
    },
    "string_too_long": {
        "en": "Must be at most {max_length} characters.",
        "de": "Darf höchstens {max_length} Zeichen lang sein.",
    },
    "string_pattern_mismatch": {"en": "Has an invalid format.", "de": "Hat ein ungültiges Format."},
    "int_type": {"en": "Must be a whole number.", "de": "Muss eine ganze Zahl sein."},
    "int_parsing": {"en": "Must be a whole number.", "de": "Muss eine ganze Zahl sein."},
    "int_from_float": {"en": "Must be a whole number.", "de": "Muss eine ganze Zahl sein."},
    "greater_than_equal": {"en": "Must be at least {ge}.", "de": "Muss mindestens {ge} sein."},
    "less_than_equal": {"en": "Must be at most {le}.", "de": "Darf höchstens {le} sein."},
    "too_short": {
        "en": "Choose at least {min_length}.",
        "de": "Bitte mindestens {min_length} auswählen.",
    },
    "too_long": {"en": "At most {max_length} allowed.", "de": "Höchstens {max_length} erlaubt."},
    "list_type": {"en": "Must be a list.", "de": "Muss eine Liste sein."},
    "model_type": {"en": "Must be an object.", "de": "Muss ein Objekt sein."},
    "dict_type": {"en": "Must be an object.", "de": "Muss ein Objekt sein."},
    "enum": {"en": "Must be one of: {expected}.", "de": "Muss eines davon sein: {expected}."},
    "extra_forbidden": {"en": "Unknown field.", "de": "Unbekanntes Feld."},
    "unknown_pizza": {
        "en": "There is no pizza {pizza_id!r} on the menu.",
        "de": "Die Pizza {pizza_id!r} gibt es nicht auf der Karte.",
    },
    "invalid_email": {"en": "Not a valid e-mail address.", "de": "Keine gültige E-Mail-Adresse."},
}
FALLBACK: dict[Language, str] = {"en": "Invalid value.", "de": "Ungültiger Wert."}

TEXTS: dict[str, dict[Language, str]] = {
    "invalid_order": {"en": "Invalid order", "de": "Ungültige Bestellung"},
    "invalid_fields": {
        "en": "{count} field(s) are invalid; see errors.",
        "de": "{count} Feld(er) sind ungültig; siehe errors.",
    },
    "order_in_progress_title": {"en": "Order in progress", "de": "Bestellung in Bearbeitung"},
    "order_in_progress": {
        "en": "This order is still being processed. Please try again in a moment with the "
        "same Idempotency-Key.",
        "de": "Diese Bestellung wird noch bearbeitet. Bitte versuchen Sie es gleich noch "
        "einmal mit demselben Idempotency-Key.",
    },
    # Honest about what we do not know: the charge may still go through. If it does,
    # the order is accepted and cooked (GET /orders/{id} shows it); if not, nothing stays
    # charged. A retry with the same Idempotency-Key never charges twice.
    "payment_unavailable": {
        "en": "The payment system is not responding, so we could not confirm your payment "
        "yet. If it goes through, your order is accepted and cooked; otherwise nothing is "
        "charged. Check your order's status before ordering again, or retry with the same "
        "Idempotency-Key: you are never charged twice.",
        "de": "Das Zahlungssystem antwortet nicht, daher konnten wir Ihre Zahlung noch nicht "
        "bestätigen. Geht sie durch, wird Ihre Bestellung angenommen und zubereitet; sonst "
        "wird nichts belastet. Prüfen Sie den Status Ihrer Bestellung, bevor Sie erneut "
        "bestellen, oder wiederholen Sie mit demselben Idempotency-Key: Sie zahlen nie "
        "doppelt.",
    },
    "payment_unavailable_title": {
        "en": "Payment not confirmed yet",
        "de": "Zahlung noch nicht bestätigt",
    },
    "overloaded_title": {"en": "Too many orders at once", "de": "Zu viele Bestellungen"},
    "overloaded": {
        "en": "We are taking too many orders at this moment. Nothing was saved or charged; "
        "please try again in a moment.",
        "de": "Wir nehmen gerade zu viele Bestellungen entgegen. Es wurde nichts gespeichert "
        "oder belastet; bitte versuchen Sie es gleich noch einmal.",
    },
    "order_cancelled_title": {"en": "Order cancelled", "de": "Bestellung storniert"},
    "order_cancelled": {
        "en": "This order was cancelled because its payment could not be confirmed in time; "
        "nothing stays charged (any charge was voided). Please place a new order.",
        "de": "Diese Bestellung wurde storniert, weil ihre Zahlung nicht rechtzeitig "
        "bestätigt werden konnte; es bleibt nichts belastet (eine Belastung wurde "
        "storniert). Bitte bestellen Sie neu.",
    },
    "payment_declined_title": {"en": "Payment declined", "de": "Zahlung abgelehnt"},
    "payment_declined": {
        "en": "Your payment was declined: {reason}. Please use another card.",
        "de": "Ihre Zahlung wurde abgelehnt: {reason}. Bitte verwenden Sie eine andere Karte.",
    },
    "card_declined": {"en": "the card was declined", "de": "die Karte wurde abgelehnt"},
    "insufficient_funds": {"en": "insufficient funds", "de": "ungenügende Deckung"},
    "amount_over_limit": {"en": "the amount is over the limit", "de": "der Betrag ist zu hoch"},
    "payment_rejected_request": {
        "en": "The payment details were not accepted: {detail}",
        "de": "Die Zahlungsangaben wurden nicht akzeptiert: {detail}",
    },
}


def pick_language(accept_language: str | None) -> Language:
    """The preferred of de/en by ``Accept-Language`` q-values; English if neither is asked."""
    best: tuple[float, Language] | None = None
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("de", "en"):
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, "de" if primary == "de" else "en")
    return best[1] if best else DEFAULT_LANGUAGE


def text(key: str, language: Language, **values: Any) -> str:
    return TEXTS[key][language].format(**values)


def field_path(location: Sequence[str | int]) -> str:
    """``("items", 0, "quantity")`` → ``items[0].quantity``."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def field_message(error_type: str, context: Mapping[str, Any] | None, language: Language) -> str:
    template = FIELD_MESSAGES.get(error_type, FALLBACK)[language]
    try:
        return template.format(**(context or {}))
    except (KeyError, IndexError):
        return FALLBACK[language]
