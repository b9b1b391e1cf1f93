"""Order numbers: customers type them in many ways; the backend and the agents use one, "ORD-123456"."""

import re

# Optional "ORD" (any case) with an optional "-", en dash or space, then exactly six digits that are not part
# of a longer number or word ("ORD-1002345", "A100234" and "555-100234" are not order numbers).
_ORDER_ID = re.compile(r"(?<![\w\-–])(?:ord[\-–\s]?)?(\d{6})(?![\w\-–])", re.IGNORECASE)


def normalize_order_id(text: str) -> str | None:
    """The first order number in `text` as "ORD-123456", or None if it contains none.

    "ORD-100234", "ord-100234", "ORD100234", "ORD 100234", "100234" and "it's ord100234, thanks" all give
    "ORD-100234"; "ORD-12345", "1002345" and "my order" give None.
    """
    match = _ORDER_ID.search(text)
    return f"ORD-{match.group(1)}" if match else None
