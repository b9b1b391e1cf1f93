"""A typed answer to the bot's yes/no question on screen, sent to Rasa as the button it means.

"yes pls reship them", "Then yes, please arrange a new shipment" or "ooh yes, a new one please" answer the
offer of a person on screen, and "I appreciate it, but my mind's made up. Cancel and refund please." turns
down the retention offer; but the NLU reads them as no intent it knows (or as a refund asked again), so the
bot's yes/no rules never see the answer: blind dev writers' hand-offs were most often missed this way
(docs/benchmarks.md). Each is read only while its question is on screen (contract/quick_replies.py), and only
when it is plain: a yes opening a sentence, nothing taking it back, and short or with words that accept the
offer ("yes it arrived this morning" answers another question); a cancellation asked for again, neither
denied nor asked as a question. Anything else stays the customer's words for the NLU.
"""

from __future__ import annotations

import re

# Words before the yes that leave it a yes ("ooh yes", "thank you. then yes", "ok yes").
_LEAD_WORDS = r"oh|ooh|omg|ok|okay|oki|well|then|and|so|alright|right|great|perfect|thanks|thank you|hmm"
_LEAD = rf"(?:(?:{_LEAD_WORDS})[\s,.!]+)*"
_YES = r"(?:yes+|yeah|yea|yep|yup|ya|sure|absolutely|definitely|please do|go ahead)"
_OPENS_WITH_YES = re.compile(rf"(?:^|[.!?;:]\s*){_LEAD}{_YES}\b", re.IGNORECASE)
_ACCEPTS = re.compile(
    r"\b(?:please|pls|plz|go ahead|connect|someone|somebody|person|human|agent|team|arrange|do it|do that|"
    r"reship\w*|resend|send (?:it|them|another|a new)|refund|replace\w*|new one|trace|look into|"
    r"cancel\w*|close|stop|sure|certain)\b",
    re.IGNORECASE,
)
_NEGATION = r"(?:no|not|nah|nope|never|don'?t|dont|won'?t|rather|instead|wait|actually|but)"
# "no point sending them now", "no rush": a "no" that qualifies the yes rather than taking it back
_QUALIFYING_NO = re.compile(
    r"\bno\s+(?:point|rush|hurry|worries|problem|need\s+to\s+(?:send|wait|rush))\b", re.IGNORECASE
)
_TAKES_IT_BACK = re.compile(rf"\b{_NEGATION}\b|n't\b", re.IGNORECASE)
SHORT_WORDS = 4

_CANCELS = re.compile(
    r"\b(?:cancel\w*|close (?:it|my|the)|stop (?:it|my|the)|terminate|end (?:it|my|the)|"
    r"mind'?s made up|still want to (?:cancel|leave|go))\b",
    re.IGNORECASE,
)
# "don't cancel", "no need to cancel", "rather not close it": the cancellation itself denied.
_DENIED_CANCEL = re.compile(
    r"\b(?:don'?t|dont|not|never|won'?t|no need to|rather not)\s+(?:to\s+)?(?:cancel|close|stop|end)\b",
    re.IGNORECASE,
)
_KEEPS_THE_OFFER = re.compile(r"\b(?:i'?ll take|i'?d like that|sounds good|deal|keep (?:it|me|my))\b", re.I)


def says_yes(text: str) -> bool:
    """Whether `text`, sent while an offer of a person is on screen, accepts it."""
    if not _OPENS_WITH_YES.search(text) or _TAKES_IT_BACK.search(_QUALIFYING_NO.sub("", text)):
        return False
    return len(text.split()) <= SHORT_WORDS or _ACCEPTS.search(text) is not None


def still_cancels(text: str) -> bool:
    """Whether `text`, sent while the retention offer is on screen, turns it down by asking to cancel. A
    question ("if I took the offer, could I still cancel later?") is left to the NLU."""
    return (
        "?" not in text
        and _CANCELS.search(text) is not None
        and _DENIED_CANCEL.search(text) is None
        and _KEEPS_THE_OFFER.search(text) is None
    )
