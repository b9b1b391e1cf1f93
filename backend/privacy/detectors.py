"""The shipped PII detection: per entity type, the detector that won on the dev half of the hand-written set.

`pii_detectors.json` beside this file says, for PERSON, EMAIL, PHONE, CARD and IBAN, whether the project's
redactor (backend/privacy/redaction.py: checked patterns, spaCy NER) or Microsoft Presidio
(presidio_detector.py, same spaCy model) finds that type. `python -m scripts.eval_pii --write-choice`
writes it from ml/pii_compare.choose on dev only; the test half is only reported.

Spans of all types are then settled in one order, EMAIL, IBAN, CARD, PHONE, then the names the CRM knows,
then NER names: a span overlapping one already kept is dropped, so an e-mail that holds a name stays one
[EMAIL] and a card number is never half a phone. Presidio is loaded only when it owns a type; with
`use_presidio=False` (setting PII_PRESIDIO) every type is the redactor's, as before the comparison.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from backend.core.digest_memo import DigestMemo
from backend.privacy import redaction
from backend.privacy.redaction import Span

CHOICE_FILE = Path(__file__).with_name("pii_detectors.json")
TYPES = ("PERSON", "EMAIL", "PHONE", "CARD", "IBAN")
LABELS = {"PERSON": "NAME", "EMAIL": "EMAIL", "PHONE": "PHONE", "CARD": "CARD", "IBAN": "IBAN"}
REDACTOR_ONLY: Mapping[str, str] = dict.fromkeys(TYPES, "redactor")
PATTERN_ORDER = ("EMAIL", "IBAN", "CARD", "PHONE")

# The detectors' spans of texts the caller marked as worth remembering (the bot's replies: its templates come
# back in every round of the privacy loop, and each costs a spaCy pass). Scoped by (names, choice); the memo
# holds digests, offsets and labels, never a text.
DetectedSpans = tuple[list[Span], list[Span]]
_memo: DigestMemo[DetectedSpans] = DigestMemo(4096)


def read_choice(path: Path = CHOICE_FILE) -> dict[str, str]:
    types = json.loads(path.read_text(encoding="utf-8"))["types"]
    if set(types) != set(TYPES) or not set(types.values()) <= {"redactor", "presidio"}:
        raise ValueError(f"{path}: needs one of redactor|presidio for each of {', '.join(TYPES)}")
    return dict(types)


@lru_cache(maxsize=1)
def shipped_choice() -> dict[str, str]:
    return read_choice()


def find_spans_many(
    texts: Sequence[str],
    names: bool = True,
    known_names: Sequence[Iterable[str]] | None = None,
    choice: Mapping[str, str] | None = None,
    remember: Sequence[bool] | None = None,
) -> list[list[Span]]:
    """Every PII span of each text, each type from its chosen detector (`choice`, default the shipped one).

    The detectors run once per distinct text: a batch repeats texts (the bot's replies are its templates),
    and what they find in a text depends on that text alone, not on the batch it came in
    (tests/privacy/test_pii_shipped.py checks it); only the known names differ per message. For the same
    reason a text marked in `remember` is detected once per process, not once per call: the privacy loop
    meets the same templates again every round."""
    choice = shipped_choice() if choice is None else choice
    choice_key = tuple(sorted(choice.items()))
    marks = remember if remember is not None else [False] * len(texts)
    kept = {text for text, keep in zip(texts, marks, strict=True) if keep}
    scope = (names, choice_key)
    remembered = {text: _memo.get(text, scope) for text in kept}
    detected = {text: spans for text, spans in remembered.items() if spans is not None}
    distinct = [text for text in dict.fromkeys(texts) if text not in detected]
    detected.update(zip(distinct, _detect(distinct, names, choice), strict=True))
    for text in kept:
        if remembered[text] is None:
            _memo.put(text, detected[text], scope)
    known_per_text = known_names if known_names is not None else [() for _ in texts]
    return [
        merge(text, *detected[text], known, choice) for text, known in zip(texts, known_per_text, strict=True)
    ]


def _detect(
    texts: Sequence[str], names: bool, choice: Mapping[str, str]
) -> list[tuple[list[Span], list[Span]]]:
    """(the redactor's spans, Presidio's spans) of each text, from the detectors `choice` needs."""
    owner = {LABELS[kind]: detector for kind, detector in choice.items()}
    our_names = names and owner["NAME"] == "redactor"
    if any(detector == "presidio" and (label != "NAME" or names) for label, detector in owner.items()):
        from backend.privacy import presidio_detector

        # All five types, even those it does not own: how Presidio settles its own overlaps depends on
        # what it found, and the comparison measured it with all five.
        analyzed = presidio_detector.analyze_many(texts)
        theirs = [[span for span in found if names or span.label != "NAME"] for found, _ in analyzed]
        # The redactor's names from the doc Presidio already made: one spaCy pass, the same entities.
        ours = [redaction.pattern_spans(text) for text in texts]
        if our_names:
            ours = [
                found + redaction.name_spans(doc, found)
                for found, (_, doc) in zip(ours, analyzed, strict=True)
            ]
    else:
        ours = redaction.find_spans_many(texts, names=our_names)
        theirs = [[] for _ in texts]
    return list(zip(ours, theirs, strict=True))


def merge(
    text: str,
    ours: Sequence[Span],
    theirs: Sequence[Span],
    known: Iterable[str],
    choice: Mapping[str, str],
) -> list[Span]:
    """One text's spans: each type from its owner in `choice` (`ours` from the redactor, `theirs` from
    Presidio), settled in the order EMAIL, IBAN, CARD, PHONE, known names, NER names; a span overlapping
    one kept before it is dropped."""
    owner = {LABELS[kind]: detector for kind, detector in choice.items()}
    candidates = [span for span in ours if owner[span.label] == "redactor"]
    candidates += [span for span in theirs if owner[span.label] == "presidio"]
    kept: list[Span] = []
    for label in PATTERN_ORDER:
        for span in sorted(s for s in candidates if s.label == label):
            if not redaction.overlaps(span, kept):
                kept.append(span)
    kept.extend(redaction.known_name_spans(text, known, kept))
    for span in sorted(s for s in candidates if s.label == "NAME"):
        if not redaction.overlaps(span, kept):
            kept.append(span)
    return sorted(kept)


def redact_many(
    texts: Sequence[str],
    names: bool = True,
    known_names: Sequence[Iterable[str]] | None = None,
    use_presidio: bool = True,
    remember: Sequence[bool] | None = None,
) -> list[str]:
    """Each text with its PII replaced by placeholders ([NAME], [EMAIL], [PHONE], [CARD], [IBAN]);
    `remember` marks the texts whose detections may be kept for later calls (find_spans_many)."""
    found = find_spans_many(texts, names, known_names, None if use_presidio else REDACTOR_ONLY, remember)
    return [redaction.apply(text, spans) for text, spans in zip(texts, found, strict=True)]
