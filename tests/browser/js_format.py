"""Numbers written the way the pages' JavaScript writes them, for tests that compare a page with the API."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def to_fixed(value: float, digits: int) -> str:
    """`Number.prototype.toFixed`: the float's exact value rounded with ties away from zero, where Python's
    format rounds ties to even (100 * 5/16 is "31.3" on a page and "31.2" in an f-string)."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))
