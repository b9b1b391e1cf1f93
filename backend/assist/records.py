"""The records of the past-replies and past-cases sets, and a FAISS set of them with stable int ids."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from knowledge.vectors import VectorIndex


@dataclass(frozen=True)
class PastReply:
    message_id: int
    conversation_id: str
    case_id: int
    text: str  # redacted
    question: str  # redacted
    at: datetime


@dataclass(frozen=True)
class PastCase:
    case_id: int
    conversation_id: str
    customer_id: int | None
    summary: str  # redacted customer messages before the hand-off
    disposition: str | None
    skill: str
    resolved_at: datetime | None


class VectorSet:
    """Vectors with stable int ids and their records."""

    def __init__(self, dim: int) -> None:
        self.vectors = VectorIndex.empty(dim)
        self.records: dict[int, Any] = {}

    def add(self, ids: list[int], vectors: np.ndarray, records: list[Any]) -> None:
        fresh = [i for i, key in enumerate(ids) if key not in self.records]
        if not fresh:
            return
        self.vectors.add(vectors[fresh], np.asarray([ids[i] for i in fresh], dtype=np.int64))
        self.records.update({ids[i]: records[i] for i in fresh})

    def remove(self, ids: list[int]) -> None:
        gone = [i for i in ids if i in self.records]
        self.vectors.remove(gone)
        for i in gone:
            del self.records[i]

    def search(self, query: np.ndarray, k: int) -> list[tuple[float, Any]]:
        if not self.records:
            return []
        scores, ids = self.vectors.search(query, k)
        return [(float(s), self.records[int(i)]) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
