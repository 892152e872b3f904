"""A duration setting: a fixed number of seconds, or a range to draw from at random
(how long cooking or a drive takes)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SecondsRange:
    low: float
    high: float

    @classmethod
    def parse(cls, text: str) -> SecondsRange:
        """``"7"`` → 7 s; ``"5-10"`` → 5 to 10 s; ``"0"`` → at once."""
        low_text, separator, high_text = text.strip().partition("-")
        try:
            low = float(low_text)
            high = float(high_text) if separator else low
        except ValueError:
            raise ValueError(f"{text!r} is not seconds like '7' or '5-10'") from None
        if low < 0 or high < low:
            raise ValueError(f"{text!r} needs 0 <= low <= high")
        return cls(low, high)

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)
