"""Rate limits as the settings write them: "20/minute", "10 per 15 minutes"."""

import re

from pyrate_limiter import Rate

UNITS_MS = {"second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}
RATE_TEXT = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d+)?\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE)


def parse_rate(text: str) -> Rate:
    """ "20/minute", "10 per 15 minutes", "5/second" -> a pyrate-limiter Rate."""
    match = RATE_TEXT.match(text)
    if match is None or int(match.group(1)) < 1:
        raise ValueError(f"{text!r} is not a rate like '20/minute' or '10 per 15 minutes'")
    count, periods, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3).lower()
    if periods < 1:
        raise ValueError(f"{text!r}: the period must be at least one {unit}")
    return Rate(count, periods * UNITS_MS[unit])
