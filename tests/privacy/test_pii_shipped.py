"""The shipped redactor (backend/privacy/detectors.py: each PII type from the detector chosen on dev) on
hand-written cases that are not in the labelled set: each type is replaced, support talk that only looks
like PII survives, and the switches (names off, Presidio off) do what they say."""

import pytest

from backend.privacy import detectors, redaction
from ml import pii_compare


def redact(text: str, **kwargs: object) -> str:
    return detectors.redact_many([text], **kwargs)[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Phone numbers: the layouts the redactor's patterns missed on dev (national numbers without +).
        ("ring me on 07911 234567 after six", "ring me on [PHONE] after six"),
        ("landline 0131 496 0802, mobile +44 7911 123456", "landline [PHONE], mobile [PHONE]"),
        ("call (646) 555-0150 pls", "call [PHONE] pls"),
        ("my German mobile is +49 151 23456789", "my German mobile is [PHONE]"),
        # The pattern types the redactor keeps.
        ("mail me: t.okonkwo+shop@proton.me.", "mail me: [EMAIL]."),
        ("card 4242 4242 4242 4242 exp 08/30", "card [CARD] exp 08/30"),
        ("refund to NL02 ABNA 0123 4567 89 please", "refund to [IBAN] please"),
        # Names through the redactor's NER.
        ("Hello, I am Svetlana Kuznetsova and I need help", "Hello, I am [NAME] and I need help"),
    ],
)
def test_each_type_is_replaced(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Where is order ORD-100482? I paid $1,249.99 on 2026-11-03.",
        "tracking 1Z999AA10123456784 has not moved since 12/11/2026",
        "the card ending 4242 was declined, refund ref RF-2026-1192",
        "I want 3 units of SKU NW-4481-BLK delivered to Leeds by DHL",
    ],
)
def test_support_talk_survives(text):
    assert redact(text) == text


def test_an_email_holding_a_name_stays_one_email_and_known_names_still_count():
    assert redact("I'm Maria Lopez, maria.lopez@example.com") == "I'm [NAME], [EMAIL]"
    assert redact("ok Dana, thanks", known_names=[["Dana Demo"]]) == "ok [NAME], thanks"


def test_names_off_keeps_names_but_not_phones():
    assert redact("Maria Lopez on 07911 234567", names=False) == "Maria Lopez on [PHONE]"


def test_presidio_off_is_the_redactor_exactly():
    texts = [message.text for message in pii_compare.load_messages()[:60]]
    assert detectors.redact_many(texts, use_presidio=False) == redaction.redact_many(texts)
    assert detectors.read_choice() != detectors.REDACTOR_ONLY  # so the default path really differs


def test_the_shipped_mix_scores_what_the_comparison_measured():
    """One spaCy pass shared by both detectors gives the same spans as running them apart and merging."""
    messages = pii_compare.of_split(pii_compare.load_messages(), "dev")[:50]
    texts = [m.text for m in messages]
    choice = detectors.read_choice()
    ours = redaction.find_spans_many(texts)
    from backend.privacy import presidio_detector

    theirs = presidio_detector.find_spans_many(texts)
    apart = [detectors.merge(t, o, p, (), choice) for t, o, p in zip(texts, ours, theirs, strict=True)]
    assert detectors.find_spans_many(texts) == apart


def test_a_texts_spans_do_not_depend_on_its_batch_and_repeats_are_detected_once(monkeypatch):
    """What lets the detectors run once per distinct text: each labelled message alone, in its batch, and in
    a shuffled batch holding every message twice gets the same spans; a repeat costs no second spaCy pass,
    and known names still apply per message."""
    from backend.privacy import presidio_detector

    texts = [message.text for message in pii_compare.load_messages()]
    alone = [detectors.find_spans_many([text])[0] for text in texts]
    assert detectors.find_spans_many(texts) == alone
    order = sorted(range(2 * len(texts)), key=lambda i: (i * 7919) % (2 * len(texts)))
    twice = detectors.find_spans_many([texts[i % len(texts)] for i in order])
    assert twice == [alone[i % len(texts)] for i in order]

    analyzed: list[str] = []
    analyze_many = presidio_detector.analyze_many

    def recorded(batch: list[str]) -> list:
        analyzed.extend(batch)
        return analyze_many(batch)

    monkeypatch.setattr(presidio_detector, "analyze_many", recorded)
    reply = "Anything else, Dana?"
    assert detectors.redact_many([reply, reply], known_names=[["Dana Demo"], []]) == [
        "Anything else, [NAME]?",
        detectors.redact_many([reply])[0],
    ]
    assert analyzed == [reply, reply]  # one pass per call of two equal texts


def test_the_worker_child_process_redacts_with_the_shipped_mix():
    """What the privacy worker calls: the low-priority child process, the PII_PRESIDIO switch passed in."""
    import asyncio

    from backend.privacy import redactor

    async def both() -> tuple[list[str], list[str]]:
        texts = ["ring me on 07911 234567, Svetlana Kuznetsova"]
        return (
            await redactor.redact_many(texts, True, use_presidio=True),
            await redactor.redact_many(texts, True, use_presidio=False),
        )

    shipped, before = asyncio.run(both())
    assert shipped == ["ring me on [PHONE], [NAME]"]
    assert before == ["ring me on 07911 234567, [NAME]"]  # the redactor's patterns alone miss this layout
