"""What was worked out from a text, remembered under a digest of the text rather than the text itself.

The hand-off cues and the PII detectors both meet the same texts again (a conversation's earlier turns at each
decision, the bot's templates at each round of the privacy loop). Keying by a 16-byte BLAKE2b digest keeps the
customer's words out of process memory past their turn. A full memo is emptied rather than evicted in LRU
order: plain dict reads and writes are safe from the policy's threads without a lock, and a value worked out
twice is the same value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


def digest(text: str) -> bytes:
    # surrogatepass: a JSON "\ud800" decodes to a lone surrogate, which strict UTF-8 cannot encode.
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class DigestMemo(Generic[Value]):
    """At most `size` values, each under (scope, digest of its text); `scope` holds whatever else the value
    depends on (the detector choice, say), and never text."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: dict[tuple[Hashable, bytes], Value] = {}

    def get(self, text: str, scope: Hashable = ()) -> Value | None:
        return self.entries.get((scope, digest(text)))

    def put(self, text: str, value: Value, scope: Hashable = ()) -> None:
        key = (scope, digest(text))
        if key not in self.entries and len(self.entries) >= self.size:
            self.entries.clear()
        self.entries[key] = value

    def __len__(self) -> int:
        return len(self.entries)
