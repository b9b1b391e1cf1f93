"""The sentence embedding of a customer message, as the bot's NLU hands it to the backend.

The hand-off policy reads the customer's words through a text model on the all-MiniLM-L6-v2 embedding the
NLU pipeline already computes for the intent classifier (nlu/embedding_in_parse.py puts it in the parse), so
the backend never runs the encoder again. In the parse it is base64 of 384 little-endian half floats (1,024
characters instead of about 8,000 as a JSON list); the backend stores the bytes with the message, because the
policy also reads the message before the current one. Half precision is what training reads too
(ml/parse_turns.py takes it from the same parse), so the policy is fitted on exactly what it is served.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Sequence

PARSE_KEY = "embedding"
DIMENSIONS = 384
BYTES = DIMENSIONS * 2  # half floats
ENCODED_CHARS = 4 * ((BYTES + 2) // 3)


def encode(values: Sequence[float]) -> str:
    """Base64 of the vector as little-endian half floats."""
    if len(values) != DIMENSIONS:
        raise ValueError(f"an embedding has {DIMENSIONS} values, not {len(values)}")
    return base64.b64encode(struct.pack(f"<{DIMENSIONS}e", *values)).decode("ascii")


def as_bytes(encoded: object) -> bytes | None:
    """The stored form of an encoded embedding; None for anything that is not one (a parse from a model
    without the component, a malformed value, a NaN or an infinity): the policy then reads the turn without
    its words' score."""
    if not isinstance(encoded, str) or len(encoded) != ENCODED_CHARS:
        return None
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != BYTES or not all(math.isfinite(v) for v in struct.unpack(f"<{DIMENSIONS}e", raw)):
        return None
    return raw


def from_bytes(raw: bytes) -> str:
    """The encoded form of stored bytes (a replay file keeps what the database stored)."""
    return base64.b64encode(raw).decode("ascii")
