"""The platform's one clock and the precision its contracts carry."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now in UTC at the contracts' millisecond precision: the default clock of every
    service, so a time renders the same in a database, an event and an answer."""
    return to_millis(datetime.now(UTC))


def to_millis(moment: datetime) -> datetime:
    """``moment`` in UTC at millisecond precision, the precision of the contracts' timestamps."""
    if moment.tzinfo is None:
        raise ValueError("event timestamps must be timezone-aware")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
