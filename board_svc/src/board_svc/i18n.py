"""The board's own words in German or English, chosen by the browser's ``Accept-Language``.

Messages about an order's fields come from order_svc, already in the asked language: the
board forwards the header.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["de", "en"]
DEFAULT_LANGUAGE: Language = "en"

TEXTS: dict[str, dict[Language, str]] = {
    "nav_order": {"en": "Order", "de": "Bestellen"},
    "nav_board": {"en": "Board", "de": "Übersicht"},
    "nav_topics": {"en": "Topics", "de": "Topics"},
    "nav_follow": {"en": "Follow an order", "de": "Bestellung verfolgen"},
    "skip": {"en": "Skip to content", "de": "Zum Inhalt springen"},
    "menu": {"en": "Menu", "de": "Speisekarte"},
    "place_order": {"en": "Place order", "de": "Bestellen"},
    "customer": {"en": "Customer", "de": "Kunde"},
    "name": {"en": "Name", "de": "Name"},
    "phone": {"en": "Phone", "de": "Telefon"},
    "email": {"en": "E-mail (optional)", "de": "E-Mail (optional)"},
    "address": {"en": "Delivery address", "de": "Lieferadresse"},
    "street": {"en": "Street and number", "de": "Strasse und Nummer"},
    "postal_code": {"en": "Postal code", "de": "Postleitzahl"},
    "city": {"en": "City", "de": "Ort"},
    "instructions": {"en": "Instructions (optional)", "de": "Hinweise (optional)"},
    "payment": {"en": "Payment", "de": "Zahlung"},
    "card_number": {"en": "Card number", "de": "Kartennummer"},
    "quantity": {"en": "Quantity", "de": "Anzahl"},
    "size": {"en": "Size", "de": "Grösse"},
    "sending": {"en": "Sending…", "de": "Wird gesendet…"},
    "accepted": {"en": "Order accepted", "de": "Bestellung angenommen"},
    "declined": {"en": "Payment declined", "de": "Zahlung abgelehnt"},
    "unavailable": {"en": "Payment unavailable", "de": "Zahlung nicht verfügbar"},
    "invalid": {
        "en": "Please correct the marked fields.",
        "de": "Bitte die markierten Felder korrigieren.",
    },
    "tracking": {"en": "Your order", "de": "Ihre Bestellung"},
    "no_tracking_token": {
        "en": "This browser does not hold this order's tracking token: only the browser "
        "that placed the order sees its way to the door.",
        "de": "Dieser Browser hat das Tracking-Token dieser Bestellung nicht: nur der "
        "Browser, der bestellt hat, sieht ihren Weg zur Tür.",
    },
    "status": {"en": "Status", "de": "Status"},
    "kitchen": {"en": "Kitchen", "de": "Küche"},
    "driver": {"en": "Driver", "de": "Fahrer"},
    "notifications": {"en": "Notifications", "de": "Benachrichtigungen"},
    "trace": {"en": "Trace of this order", "de": "Trace dieser Bestellung"},
    "step_received": {"en": "Received", "de": "Eingegangen"},
    "step_cooking": {"en": "Cooking", "de": "In der Küche"},
    "step_ready": {"en": "Ready", "de": "Fertig"},
    "step_driver_assigned": {"en": "Driver assigned", "de": "Fahrer zugeteilt"},
    "step_on_the_way": {"en": "On the way", "de": "Unterwegs"},
    "step_delivered": {"en": "Delivered", "de": "Geliefert"},
    "waiting": {"en": "Waiting for the order to arrive…", "de": "Warte auf die Bestellung…"},
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


def texts(language: Language) -> dict[str, str]:
    """Every text in ``language``, for a template (``t.menu``)."""
    return {key: value[language] for key, value in TEXTS.items()}
