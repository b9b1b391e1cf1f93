"""The hand-written PII set (ml/data/pii_messages.yml) and the per-type choice made from it: the mark-up
gives the offsets it claims, the split is by id hash with every type on both sides, and the choice reads the
dev half only; the shipped choice file is what dev picks today."""

import hashlib

import pytest

from backend.privacy import detectors
from backend.privacy.redaction import Span
from ml import pii_compare


@pytest.fixture(scope="module")
def messages() -> list[pii_compare.Message]:
    return pii_compare.load_messages()


def test_mark_up_becomes_text_and_offsets():
    text, spans = pii_compare.parse_marked("hi [Ana Ruiz](PERSON), call [+34 612 345 678](PHONE) [sic](x)")
    assert text == "hi Ana Ruiz, call +34 612 345 678 [sic](x)"
    assert spans == (Span(3, 11, "PERSON"), Span(18, 33, "PHONE"))


def test_every_gold_span_is_the_marked_text(messages):
    assert len(messages) >= 200
    for message, row in zip(messages, _raw_rows(), strict=True):
        marked = [f"[{message.text[s.start : s.end]}]({s.label})" for s in message.gold]
        assert all(piece in row for piece in marked), message.id
        assert not pii_compare.MARK.search(message.text), message.id


def _raw_rows() -> list[str]:
    import yaml

    return [row["marked"] for row in yaml.safe_load(pii_compare.DATA.read_text())["messages"]]


def test_split_is_the_id_hash_and_both_halves_hold_every_type(messages):
    for message in messages[:20]:
        even = hashlib.sha256(message.id.encode()).digest()[0] % 2 == 0
        assert message.split == ("dev" if even else "test")
    for split in ("dev", "test"):
        part = pii_compare.of_split(messages, split)
        assert len(part) >= 100
        assert sum(not m.gold for m in part) >= 40  # messages with distractors only
        for kind in pii_compare.TYPES:
            assert sum(s.label == kind for m in part for s in m.gold) >= 5, (split, kind)


def _predictions(messages, phone_by_presidio_on: set[str]) -> dict[str, dict[str, list[Span]]]:
    """Both detectors right on every type except PHONE, which only Presidio finds, and only on the given
    splits (the redactor finds it elsewhere)."""
    by_id: dict[str, dict[str, list[Span]]] = {"redactor": {}, "presidio": {}}
    for message in messages:
        gold = [Span(s.start, s.end, "NAME" if s.label == "PERSON" else s.label) for s in message.gold]
        no_phone = [s for s in gold if s.label != "PHONE"]
        if message.split in phone_by_presidio_on:
            by_id["redactor"][message.id], by_id["presidio"][message.id] = no_phone, gold
        else:
            by_id["redactor"][message.id], by_id["presidio"][message.id] = gold, no_phone
    return by_id


def test_the_choice_reads_dev_only(messages):
    on_dev, _ = pii_compare.choose(messages, _predictions(messages, {"dev"}))
    assert on_dev == {**detectors.REDACTOR_ONLY, "PHONE": "presidio"}
    # The opposite evidence on test changes nothing; on dev it flips the choice.
    assert pii_compare.choose(messages, _predictions(messages, {"dev"}))[0] == on_dev
    assert pii_compare.choose(messages, _predictions(messages, set()))[0] == detectors.REDACTOR_ONLY
    only_test_says_presidio, _ = pii_compare.choose(messages, _predictions(messages, {"test"}))
    assert only_test_says_presidio == detectors.REDACTOR_ONLY


def test_a_tie_keeps_the_redactor(messages):
    same = _predictions(messages, set())
    same["presidio"] = same["redactor"]
    assert pii_compare.choose(messages, same)[0] == detectors.REDACTOR_ONLY


@pytest.mark.slow  # runs every real detector on dev
def test_shipped_choice_is_what_dev_picks_with_the_real_detectors(messages):
    dev = pii_compare.of_split(messages, "dev")
    run = pii_compare.detectors()
    texts = [m.text for m in dev]
    by_id = {name: dict(zip([m.id for m in dev], detect(texts), strict=True)) for name, detect in run.items()}
    chosen, _ = pii_compare.choose(dev, by_id)
    assert detectors.read_choice() == chosen
