"""Text as every request field takes it: Unicode that both databases store exactly as it was sent.

JSON can carry strings no database column holds. A lone surrogate (`"\\ud800"`, or the raw bytes ED A0 80,
which Python's JSON decoder lets through) is not Unicode text: it cannot be encoded as UTF-8, so SQLite's
and PostgreSQL's drivers fail while storing it (a 500), and so does sending it back in a response. NUL
(`"\\u0000"`) is stored by SQLite but refused by PostgreSQL's text type, so the same request would succeed on
one database and fail on the other. Every str field of a request body, path, query or form is `Text`, and
both are refused with a 422 that names the problem and where it is, before any route code runs; every other
character (controls, emoji, right-to-left marks, non-characters such as U+FFFF) is stored intact.
"""

from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

NUL = "\x00"


def check_text(value: Any) -> Any:
    """`value` unchanged if it is storable text; other types pass on to the str validation after this."""
    if not isinstance(value, str):
        return value
    if NUL in value:
        raise PydanticCustomError(
            "text_nul",
            "text must not contain NUL characters (U+0000, first at position {position})",
            {"position": value.index(NUL)},
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # only surrogates (U+D800-DFFF) fail: every other code point encodes
        raise PydanticCustomError(
            "text_surrogate",
            "text must be valid Unicode: lone surrogate {character} at position {position}",
            {"character": f"U+{ord(value[exc.start]):04X}", "position": exc.start},
        ) from None
    return value


# Before the str validation, so the error is this clear one rather than a constraint's "unable to parse raw
# data as a unicode string", and the same with or without max_length/pattern. The OpenAPI schema is unchanged.
TEXT = BeforeValidator(check_text)
Text = Annotated[str, TEXT]
# With StringConstraints, write Annotated[str, StringConstraints(...), TEXT]: the constraints inside, TEXT
# last (outermost). Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1)] would check the
# length before stripping (pydantic applies constraints after a before-validator one by one), so "  " passed.
# Field(min_length=..., max_length=..., pattern=...) on a Text field is fine.


def printable(value: Any) -> Any:
    """`value` with strings that cannot be encoded as UTF-8 shown with backslash escapes (for error answers
    that quote the refused input: a lone surrogate would otherwise fail the response itself)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(item) for item in value]
    return value
