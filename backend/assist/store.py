"""The past-replies and past-cases sets on disk, so a restart reads vectors instead of re-encoding them.

Inside the knowledge index's directory, in `<kb_index_dir>/assist/` (var/kb_index/assist by default): the
directory the deployments already give a writable volume (docker/kubernetes: the root filesystem is
read-only), and the tests their own temporary one. The knowledge index never lists or cleans its directory.

- `replies.faiss`, `cases.faiss`: the FAISS indexes (ids: message ids, case ids);
- `records.json`: every record (PII-redacted text only, as in memory) and the watermark;
- `manifest.json`: format, encoder name and dimension, the content hash, the number of each.

The content hash is a SHA-256 of the encoder's name and of every record's id and the text that was encoded
(the customer message a reply answered, a case's summary). A load is refused (and the caller rebuilds) when
the encoder or the dimension differ, a file is missing or unreadable, the records do not hash to the
manifest's hash, or an index's ids are not the records' ids. Staleness against the database is not decided
here: the caller compares the loaded records with the database's and encodes only what is new or changed.

Writes take the directory's flock (several workers share it) and replace each file atomically.
"""

import hashlib
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from backend.assist.records import PastCase, PastReply, VectorSet
from knowledge.store import directory_lock
from knowledge.vectors import VectorIndex

log = logging.getLogger(__name__)
FORMAT = 1
MANIFEST, RECORDS = "manifest.json", "records.json"
REPLIES, CASES = "replies.faiss", "cases.faiss"


def directory_for(kb_index_dir: Path) -> Path:
    return kb_index_dir / "assist"


def reply_input(reply: PastReply) -> str:
    """What a reply is embedded by: the customer message it answered (its own text without one)."""
    return reply.question or reply.text


def case_input(case: PastCase) -> str:
    return case.summary


def content_hash(encoder: str, replies: VectorSet, cases: VectorSet) -> str:
    digest = hashlib.sha256(f"format {FORMAT}\nencoder {encoder}\n".encode())
    for kind, found, text_of in (("reply", replies, reply_input), ("case", cases, case_input)):
        for key in sorted(found.records):
            digest.update(f"{kind} {key} ".encode())
            digest.update(text_of(found.records[key]).encode())
            digest.update(b"\x00")
    return digest.hexdigest()


@dataclass
class Loaded:
    replies: VectorSet
    cases: VectorSet
    watermark: datetime | None
    content_hash: str


def save(
    directory: Path, encoder: str, replies: VectorSet, cases: VectorSet, watermark: datetime | None
) -> str:
    """Write both sets; returns the content hash written."""
    digest = content_hash(encoder, replies, cases)
    records = {
        "watermark": watermark.isoformat() if watermark else None,
        "replies": [_reply_row(r) for r in replies.records.values()],
        "cases": [_case_row(c) for c in cases.records.values()],
    }
    manifest = {
        "format": FORMAT,
        "encoder": encoder,
        "dim": replies.vectors.dim,
        "content_hash": digest,
        "replies": len(replies.records),
        "cases": len(cases.records),
    }
    with directory_lock(directory):
        _write_atomic(directory / REPLIES, _index_bytes(replies))
        _write_atomic(directory / CASES, _index_bytes(cases))
        _write_atomic(directory / RECORDS, json.dumps(records, separators=(",", ":")).encode())
        _write_atomic(directory / MANIFEST, json.dumps(manifest, indent=1).encode())  # last: it commits
    return digest


def load(directory: Path, encoder: str, dim: int) -> tuple[Loaded | None, str]:
    """The saved sets, or None and why they cannot be used."""
    if not (directory / MANIFEST).is_file():
        return None, "no saved index"
    try:
        with directory_lock(directory):
            manifest = json.loads((directory / MANIFEST).read_bytes())
            if manifest.get("format") != FORMAT:
                return None, f"format {manifest.get('format')!r}, not {FORMAT}"
            if manifest.get("encoder") != encoder or manifest.get("dim") != dim:
                return (
                    None,
                    f"encoded by {manifest.get('encoder')!r} ({manifest.get('dim')} dims), not {encoder!r}",
                )
            body = json.loads((directory / RECORDS).read_bytes())
            replies = _set(
                directory / REPLIES, dim, [_reply(r) for r in body["replies"]], lambda r: r.message_id
            )
            cases = _set(directory / CASES, dim, [_case(c) for c in body["cases"]], lambda c: c.case_id)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        return None, f"unreadable: {exc}"
    digest = content_hash(encoder, replies, cases)
    if digest != manifest.get("content_hash"):
        return None, "the records do not match the manifest's content hash"
    watermark = datetime.fromisoformat(body["watermark"]) if body.get("watermark") else None
    return Loaded(replies, cases, watermark, digest), "loaded"


def _set(path: Path, dim: int, records: list[Any], key_of: Any) -> VectorSet:
    found = VectorSet(dim)
    found.vectors = VectorIndex.load(path, dim, "flat", set())
    ids = faiss.vector_to_array(found.vectors.index.id_map).astype(np.int64)
    keys = [key_of(r) for r in records]
    if sorted(int(i) for i in ids) != sorted(keys) or len(set(keys)) != len(keys):
        raise ValueError(f"{path.name}: its ids are not the records' ids")
    found.records = dict(zip(keys, records, strict=True))
    return found


def _index_bytes(found: VectorSet) -> bytes:
    return faiss.serialize_index(found.vectors.index).tobytes()


def _reply_row(reply: PastReply) -> dict[str, Any]:
    return asdict(reply) | {"at": reply.at.isoformat()}


def _case_row(case: PastCase) -> dict[str, Any]:
    return asdict(case) | {"resolved_at": case.resolved_at.isoformat() if case.resolved_at else None}


def _reply(row: dict[str, Any]) -> PastReply:
    return PastReply(**(row | {"at": datetime.fromisoformat(row["at"])}))


def _case(row: dict[str, Any]) -> PastCase:
    resolved = datetime.fromisoformat(row["resolved_at"]) if row["resolved_at"] else None
    return PastCase(**(row | {"resolved_at": resolved}))


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.write_bytes(data)
    tmp.replace(path)
