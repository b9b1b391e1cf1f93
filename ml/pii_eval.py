"""A seeded test set of support messages with known PII, and precision/recall of the redactor on it.

How the set is made (same seed, same set): support-like templates (late orders, refunds, card changes,
contact updates, thanks to an agent) are filled with
- names: full, first-only and lower-cased, from a list spanning many origins (English, Spanish, Indian,
  Chinese, Nigerian, Arabic, Slavic, Japanese, ...), since customers are not all called John Smith;
- e-mails built from those names on several domains; phone numbers in international (+44 20 7946 0958,
  +33 6 12 34 56 78, ...) and US layouts ((415) 555-0134, 415.555.0134, 1-800-..., ten digits in a run);
- card numbers that pass the Luhn check (Visa, Mastercard, Amex, Discover), grouped by spaces, dashes or
  not at all; IBANs with a valid mod-97 check digit;
- distractors that must survive: order ids (ORD-100002), amounts, dates, times, tracking numbers,
  16-digit numbers that fail the Luhn check, places and company names.
A gold span counts as found when spans of its type cover every character of it (a half-redacted name is a
leak); a predicted span counts as correct when it overlaps a gold span of its type.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from backend.privacy.redaction import Span, find_spans_many, luhn_valid

# fmt: off
FIRST = (
    "Maria", "Olivia", "James", "Aisha", "Wei", "Priya", "Mohammed", "Sofia", "Liam", "Chen", "Fatima",
    "Lucas", "Yuki", "Amara", "Diego", "Hannah", "Kwame", "Ingrid", "Rahul", "Elena", "Tomasz", "Chloe",
    "Omar", "Mei", "Kofi", "Sarah", "Daniel", "Ananya", "Jorge", "Leila", "Hiroshi", "Grace", "Mateo",
    "Zainab", "Noah", "Emily", "Ivan", "Nadia", "Samuel", "Lucia"
)
LAST = (
    "Gonzalez", "Johnson", "Okafor", "Zhang", "Patel", "Hassan", "Rossi", "Brown", "Nguyen", "Kowalski",
    "Müller", "Tanaka", "Mensah", "Silva", "Andersson", "Sharma", "Petrova", "Dubois", "Khan", "Wang",
    "Adeyemi", "Murphy", "Fernandez", "Kim", "O'Brien", "Ivanova", "Schmidt", "Garcia", "Yamamoto",
    "Abdullah", "Novak", "Lopez", "Chowdhury", "Wilson", "Haddad", "Costa"
)
# fmt: on
DOMAINS = ("gmail.com", "yahoo.co.uk", "outlook.com", "northwind-mail.net", "proton.me", "uni-bonn.de")
PLACES = ("Berlin", "Canada", "Texas", "Lagos", "Mumbai", "London", "Ohio")
COMPANIES = ("UPS", "FedEx", "DHL", "PayPal", "Northwind", "Visa")


@dataclass
class Sample:
    text: str
    gold: list[Span] = field(default_factory=list)


@dataclass
class Scores:
    predicted: int = 0
    correct_predictions: int = 0
    gold: int = 0
    found: int = 0

    @property
    def precision(self) -> float:
        return self.correct_predictions / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0


# ---------------------------------------------------------------------------------------------- fillers


def _name(rng: random.Random) -> str:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    return name.lower() if rng.random() < 0.15 else name


def _first(rng: random.Random) -> str:
    return rng.choice(FIRST)


def _email(rng: random.Random) -> str:
    first, last = rng.choice(FIRST).lower(), rng.choice(LAST).lower().replace("'", "").replace("ü", "ue")
    local = rng.choice(
        [f"{first}.{last}", f"{first}{rng.randint(1, 99)}", f"{first[0]}{last}", f"{last}_{first}"]
    )
    return f"{local}@{rng.choice(DOMAINS)}"


def _phone(rng: random.Random) -> str:
    d = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
    area = f"{rng.randint(2, 9)}{d(2)}"
    layouts = [
        f"+1 {area} 555 {d(4)}",
        f"({area}) 555-{d(4)}",
        f"{area}-555-{d(4)}",
        f"{area}.555.{d(4)}",
        f"1-800-555-{d(4)}",
        f"{area}555{d(4)}",
        f"+44 20 {d(4)} {d(4)}",
        f"+44 7{d(3)} {d(6)}",
        f"+49 30 {d(8)}",
        f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
        f"+91 9{d(4)} {d(5)}",
        f"+234 80{d(1)} {d(3)} {d(4)}",
        f"+61-4{d(2)}-{d(3)}-{d(3)}",
    ]
    return rng.choice(layouts)


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for check in string.digits:
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("one check digit always fits")


def _group(digits: str, rng: random.Random, sizes: tuple[int, ...]) -> str:
    separator = rng.choice([" ", "-", ""])
    parts, start = [], 0
    for size in sizes:
        parts.append(digits[start : start + size])
        start += size
    return separator.join(part for part in parts if part)


def _card(rng: random.Random) -> str:
    prefix, length = rng.choice(
        [("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("6011", 16), ("34", 15), ("37", 15), ("4", 13)]
    )
    digits = _luhn_complete(prefix, length, rng)
    sizes = (4, 6, 5) if length == 15 else (4, 4, 4, 4)
    return _group(digits, rng, sizes) if length != 13 else digits


def _bad_card(rng: random.Random) -> str:
    digits = _luhn_complete("4", 16, rng)
    wrong = digits[:-1] + str((int(digits[-1]) + rng.randint(1, 9)) % 10)
    return _group(wrong, rng, (4, 4, 4, 4))


def _iban(rng: random.Random) -> str:
    country, length = rng.choice([("DE", 22), ("GB", 22), ("FR", 27), ("NL", 18), ("ES", 24)])
    if country in ("GB", "NL"):
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4))
        bban += "".join(rng.choice(string.digits) for _ in range(length - 8))
    else:
        bban = "".join(rng.choice(string.digits) for _ in range(length - 4))
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    compact = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    if rng.random() < 0.5:
        return compact
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _order(rng: random.Random) -> str:
    return f"ORD-{rng.randint(100000, 199999)}"


def _amount(rng: random.Random) -> str:
    return rng.choice(["$", "€", "£"]) + f"{rng.randint(5, 2400):,}.{rng.randint(0, 99):02d}"


def _date(rng: random.Random) -> str:
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"2026-{month:02d}-{day:02d}", f"{month}/{day}/2026", f"March {day}"])


FILLERS: dict[str, tuple[str | None, Callable[[random.Random], str]]] = {
    "NAME": ("NAME", _name),
    "FIRST": ("NAME", _first),
    "EMAIL": ("EMAIL", _email),
    "PHONE": ("PHONE", _phone),
    "CARD": ("CARD", _card),
    "IBAN": ("IBAN", _iban),
    "ORDER": (None, _order),
    "AMOUNT": (None, _amount),
    "DATE": (None, _date),
    "BADCARD": (None, _bad_card),
    "TRACKING": (None, lambda rng: f"1Z{rng.randint(10**9, 10**10 - 1)}"),
    "PLACE": (None, lambda rng: rng.choice(PLACES)),
    "COMPANY": (None, lambda rng: rng.choice(COMPANIES)),
    "TIME": (
        None,
        lambda rng: f"{rng.randint(1, 12)}:{rng.choice(['00', '15', '30', '45'])} {rng.choice(['am', 'pm'])}",
    ),
}

TEMPLATES = (
    "Hi, my name is {NAME} and my order {ORDER} still hasn't arrived.",
    "You can reach me at {EMAIL} or on {PHONE} after {TIME}.",
    "Please charge my card {CARD} instead, the total was {AMOUNT}.",
    "This is {NAME}, I was charged {AMOUNT} twice on {DATE}.",
    "{NAME} here. Tracking {TRACKING} shows nothing since {DATE}.",
    "send the refund to {IBAN} please, my bank is in {PLACE}",
    "My email changed to {EMAIL}, new phone is {PHONE}",
    "thanks {FIRST}, that really helped!",
    "I spoke to {FIRST} yesterday about order {ORDER} and nothing happened",
    "my husband {NAME} placed the order from {PLACE}, can you check {ORDER}?",
    "I tried the card {BADCARD} but your site says it is invalid",
    "Where is my order {ORDER}? It was {AMOUNT} and {COMPANY} says it shipped on {DATE}.",
    "Is the Pro plan available in {PLACE}? I pay {AMOUNT} a month now.",
    "Can you call me on {PHONE}? Ask for {FIRST}.",
    "The account is under {EMAIL}, card on file is {CARD}",
    "{COMPANY} left the parcel at the wrong door on {DATE} around {TIME}",
    "please cancel my subscription, {NAME}, order {ORDER}",
    "Refund {AMOUNT} to my IBAN {IBAN}, account holder {NAME}",
    "I want to speak to a human, this is the third time I contact you about {ORDER}",
    "Dear support, I am {NAME} from {PLACE}. My phone: {PHONE}. Email: {EMAIL}.",
)


def _fill(template: str, rng: random.Random) -> Sample:
    text, gold, rest = "", [], template
    while "{" in rest:
        before, _, after = rest.partition("{")
        slot, _, rest = after.partition("}")
        text += before
        label, make = FILLERS[slot]
        value = make(rng)
        if label is not None:
            gold.append(Span(len(text), len(text) + len(value), label))
        text += value
    return Sample(text + rest, gold)


def build_test_set(size: int = 600, seed: int = 2026) -> list[Sample]:
    rng = random.Random(seed)
    return [_fill(TEMPLATES[index % len(TEMPLATES)], rng) for index in range(size)]


# ---------------------------------------------------------------------------------------------- scoring


def _covered(gold: Span, predicted: list[Span]) -> bool:
    chars = set(range(gold.start, gold.end))
    for span in predicted:
        if span.label == gold.label:
            chars -= set(range(span.start, span.end))
    return not chars


def _overlaps_gold(span: Span, gold: list[Span]) -> bool:
    return any(g.label == span.label and span.start < g.end and g.start < span.end for g in gold)


def score(samples: list[Sample], names: bool = True) -> dict[str, Scores]:
    predictions = find_spans_many([sample.text for sample in samples], names)
    scores: dict[str, Scores] = {}
    for sample, predicted in zip(samples, predictions, strict=True):
        for gold in sample.gold:
            entry = scores.setdefault(gold.label, Scores())
            entry.gold += 1
            entry.found += _covered(gold, predicted)
        for span in predicted:
            entry = scores.setdefault(span.label, Scores())
            entry.predicted += 1
            entry.correct_predictions += _overlaps_gold(span, sample.gold)
    return scores


def false_positives(samples: list[Sample], names: bool = True) -> list[tuple[str, str, str]]:
    """(label, predicted text, message) of every span that matched no gold span: what to look at first."""
    predictions = find_spans_many([sample.text for sample in samples], names)
    return [
        (span.label, sample.text[span.start : span.end], sample.text)
        for sample, predicted in zip(samples, predictions, strict=True)
        for span in predicted
        if not _overlaps_gold(span, sample.gold)
    ]


def misses(samples: list[Sample], names: bool = True) -> list[tuple[str, str, str]]:
    """(label, gold text, message) of every gold span not fully redacted."""
    predictions = find_spans_many([sample.text for sample in samples], names)
    return [
        (gold.label, sample.text[gold.start : gold.end], sample.text)
        for sample, predicted in zip(samples, predictions, strict=True)
        for gold in sample.gold
        if not _covered(gold, predicted)
    ]
