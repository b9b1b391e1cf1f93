"""What a sales message says on its face: the kind of interest, a quantity, an e-mail domain.

Plain text rules, no model: the intent (the bot's `sales_inquiry`) already says *that* the customer wants to
buy; these only read *what* and *how much*, which the NLU has no entities for. Ambiguous text gives None
rather than a guess, and the scoring model treats a missing quantity as its own value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INTERESTS = ("business_account", "bulk_order", "team_plan", "upgrade", "quote")
# First match wins, so the specific phrasings come before the general ones ("a quote for 50 units" is bulk).
_INTEREST_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("team_plan", re.compile(r"\b(team|seats?|licen[cs]es?|users|staff|employees|colleagues)\b", re.I)),
    ("bulk_order", re.compile(r"\b(bulk|wholesale|volume|units|pieces|pallets?|in quantity)\b", re.I)),
    ("business_account", re.compile(r"\b(business|company|corporate|invoic\w*|vat|procurement|b2b)\b", re.I)),
    ("upgrade", re.compile(r"\b(upgrad\w*|pro plan|plus plan|higher tier|more features)\b", re.I)),
    ("quote", re.compile(r"\b(quote|quotation|pricing for|price list|discount|offer)\b", re.I)),
)
# "50 units", "team of 12", "12 seats", "for 200 people": a number next to a unit of people or goods.
_QUANTITY = re.compile(
    r"(?:\b(?:team|group|staff|company) of (\d[\d,]*)\b)"
    r"|(?:\b(\d[\d,]*)\s*(?:\+\s*)?(?:units?|pieces?|pcs|items?|seats?|licen[cs]es?|users?|people|employees|"
    r"staff|colleagues|members|boxes|pallets?|orders?|accounts?)\b)",
    re.I,
)
_EMAIL = re.compile(r"\b[\w.+-]+@([\w-]+(?:\.[\w-]+)+)\b")
# Free mail (a person) against a company's own domain (a business); reserved domains say nothing.
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com", "hotmail.co.uk", "outlook.com",
    "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mail.com", "gmx.com", "gmx.de", "gmx.net",
    "web.de", "proton.me", "protonmail.com", "yandex.com", "zoho.com", "fastmail.com",
})  # fmt: skip
_RESERVED = re.compile(r"(^|\.)(example\.(com|org|net)|example|test|invalid|localhost)$", re.I)
MAX_QUANTITY = 1_000_000  # beyond this a "quantity" is an order number or a phone number


@dataclass(frozen=True)
class Signals:
    interest: str
    quantity: int | None
    email_domain: str | None  # the domain of an address in the message, if any


def interest_of(text: str) -> str:
    """The kind of sales interest; a plain "how much for ..." is a request for a quote."""
    for name, pattern in _INTEREST_WORDS:
        if pattern.search(text):
            return name
    return "quote"


def quantity_of(text: str) -> int | None:
    """The largest plausible quantity named next to a unit, or None."""
    found = []
    for match in _QUANTITY.finditer(text):
        digits = (match.group(1) or match.group(2) or "").replace(",", "")
        if digits.isdigit() and 0 < int(digits) <= MAX_QUANTITY:
            found.append(int(digits))
    return max(found) if found else None


def email_kind(domain: str | None) -> str:
    """business (a company's own domain), free (a mailbox provider) or unknown (none, or reserved)."""
    if not domain or _RESERVED.search(domain.lower()):
        return "unknown"
    return "free" if domain.lower() in FREE_MAIL else "business"


def domain_of(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().lower() or None


def read(text: str) -> Signals:
    email = _EMAIL.search(text)
    return Signals(interest_of(text), quantity_of(text), email.group(1).lower() if email else None)
