"""Praise that is not meant: the service praised in a message that reports it failing.

"oh great, logged out AGAIN", "brilliant service, still not shipped", "wow, amazing answer, so helpful 🙄".
Shared by the backend's hand-off cues (backend/handoff/cues.py, where it counts as blame: docs/labelling.md
section 1, tie-break 1) and the bot's NLU (nlu/complaint_in_praise.py, where it turns such a `compliment`
into the complaint it is). Standard library only: both venvs import it.
"""

from __future__ import annotations

import re

PRAISE = re.compile(
    r"\b(?:great|fantastic|brilliant|wonderful|excellent|amazing|stellar|superb|lovely|outstanding|top[\s-]notch)\s+"
    r"(?:customer\s+)?(?:service|job|work|support|answer|reply|response|logistics|delivery|shipping|tracking)\b|\bso\s+helpful\b"
    r"|\b(?:wow|oh)\W+(?:impressive|great|brilliant|amazing|fantastic|stellar|superb|excellent)\b"
    r"|\boh\s+(?:great|fantastic|brilliant|wonderful|perfect|lovely|joy|good)\b|\blet\s+me\s+guess\b",
    re.IGNORECASE,
)
FAILING = re.compile(
    r"\b(?:still|again|AGAIN|never|not|no|nothing|since|late|lost|broken|wrong|yet)\b|n't\b|🙄"
    # help the customer already had: "thanks for the tracking link I already have"
    r"|\bi\s+(?:already|had\s+already)\s+(?:have|had|knew|know|tried|checked|did|sent)\b",
    re.IGNORECASE,
)


def is_sarcastic(text: str) -> bool:
    """Praise of the service in a message that says it failed. Praise alone is thanks."""
    return bool(PRAISE.search(text) and FAILING.search(text))
