"""Sticky, deterministic assignment: a unit's variant is a hash of the experiment key and the unit id.

The same unit gets the same variant on every worker and every call, with no lookup, and two experiments
with different keys split the same units independently. The first 8 bytes of SHA-256 are read as a number
in [0, 1) and placed on the variants' cumulative weights.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any


def bucket(key: str, unit_id: str) -> float:
    digest = hashlib.sha256(f"{key}\x00{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def variant_for(key: str, unit_id: str, variants: Sequence[dict[str, Any]]) -> str:
    """The variant of `unit_id`; weights need not sum to 1 (they are normalised)."""
    total = sum(float(v["weight"]) for v in variants)
    point = bucket(key, unit_id) * total
    edge = 0.0
    for variant in variants:
        edge += float(variant["weight"])
        if point < edge:
            return str(variant["name"])
    return str(variants[-1]["name"])  # rounding at the top edge
