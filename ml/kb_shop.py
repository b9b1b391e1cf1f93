"""The demo shop's knowledge questions (ml/data/kb_questions.yml): loading, the dev/test split, and how well
the product's knowledge search answers them.

Measured through the product's own path, not a re-implementation: a temporary SQLite database is migrated and
seeded as the demo is (`backend.seed`), the backend's `KnowledgeRuntime` opens it (builds the index from the
published articles and loads the calibration with `load_calibrator`, so KB_CALIBRATION_PATH,
KB_ANSWER_THRESHOLD and KB_ENCODER_DIR apply), and every question goes through `KnowledgeIndex.search`, which
the service endpoint the bot calls uses. A question counts as *answered* when the top result's confidence
reaches the threshold (the endpoint's `answerable`); an answer is *right* when that result is the labelled
article (or one listed under `also`); answering an unanswerable question is wrong.

Another evaluation imports it:

    from ml.kb_shop import shop_figures
    figures = shop_figures("test")  # ShopFigures: precision, answered_share, refusal_rate, recall@1/@5

Split (docs/labelling.md section 4): sha256(question id) first byte even -> test, odd -> dev, in
kb_questions.yml; a later writer's file (kb_questions_w4.yml) declares its split, dev. The calibration
and every retrieval choice are made on dev; test is reported only.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from backend.core.config import Settings, to_async_url, to_sync_url
from backend.core.database import make_engine, make_sessionmaker
from backend.kb import service
from backend.kb.indexing import KnowledgeRuntime
from backend.seed import seed
from knowledge import calibration
from knowledge.calibration import Calibrator
from knowledge.store import KnowledgeIndex
from scripts.paths import ROOT

QUESTIONS = Path(__file__).resolve().parent / "data" / "kb_questions.yml"
# Later writers' questions, each writer's in its own file with its ids prefixed `w<writer>` and its split
# declared for the whole file (written as dev, so the test split stays the first three writers' hash half).
LATER_WRITERS = (QUESTIONS.with_name("kb_questions_w4.yml"),)
SPLITS = ("dev", "test")
NONE = "none"
ID = re.compile(r"^(?:w(?P<writer>\d+))?q\d{3,}$")
# The operating point of the decision shipped until 2026-12-06 (`fit`, still what `cross_validate` and the
# comparisons of scripts/eval_kb.py run; the shipped one is `fit_product`, below): the lowest threshold
# whose out-of-fold answers on dev are right at least
# THRESHOLD_PRECISION of the time (or its one-sided Wilson lower bound at WILSON_Z, when above 0). Issue 14's
# target is 0.85 (TARGET_PRECISION, what the verdict checks), but a threshold chosen to just reach it on dev
# fell short on other questions, and dev's share of unanswerable questions (24%, 26% with the third writer's)
# is below the 30% the labelling guide writes for (docs/labelling.md section 3), and every unanswerable
# question answered counts against precision. So the rule is the one, among RULES_COMPARED, with the largest
# smaller margin over both of issue 14's targets in dev cross-validation (`cross_validate`), precision taken
# at the guide's 30% mix (`precision_mix`): 0.88 at z=0.8416, chosen so on 2026-12-05 on the first two
# writers' dev questions. On the dev with the third writer's the same criterion picks z=0, but that refit
# refuses questions the plans table answers and was not shipped (docs/benchmarks.md, shop KB); `python -m
# scripts.eval_kb --shop` prints the comparison.
TARGET_PRECISION = 0.85
TARGET_ANSWERED = 0.80  # issue 14: at least this share of the answerable test questions answered
THRESHOLD_PRECISION = 0.88
WILSON_Z = 0.8416
UNANSWERABLE_MIX = 0.30  # docs/labelling.md section 3: about 70% answerable, 30% not
# (threshold precision, z) compared: the earlier rule, plain precision, and bounds around the shipped one
RULES_COMPARED = ((0.85, 1.2816), (0.87, 0.8416), (0.88, 0.0), (0.88, 0.8416), (0.88, 1.2816), (0.90, 0.0))
# The decision's features (knowledge/calibration.py), chosen on dev by cross-validation (`cross_validate`,
# printed by `python -m scripts.eval_kb --shop`): the sentence features added AUC and answered share there.
DECISION_FEATURES = calibration.ALL_FEATURES
FEATURE_SETS = {
    "five ranking features": calibration.FEATURES,
    "plus sentence features": DECISION_FEATURES,
    "plus sentence, without fused": tuple(f for f in DECISION_FEATURES if f != "fused"),
}
FOLDS = 5
# Examples per question: its top 10 results. Fitting on the top result alone (standardized, without `fused`,
# whose weight turned negative there) refused more unanswerable dev questions at the same answered share in
# cross-validation, but it refused issue 14's own example ("what's the difference between basic and plus",
# tests/knowledge/test_kb_api.py), so it is not shipped (docs/benchmarks.md); `--shop` prints both.
EXAMPLES_PER_QUESTION = 10
EXAMPLES_COMPARED = (1, 10)
# Whether features are scaled to unit variance before the L2-penalised fit (folded back into the stored
# weights); the shipped fit is on raw features, as it was chosen.
STANDARDIZE = False
THRESHOLD_BYTE = 5  # of sha256(id): the folds inside `fit`, apart from cross_validate's bytes 1-3
RECALL_DEPTH = 5
# The shipped decision (`fit_product`, chosen 2026-12-06 on dev by leave-one-writer-out; docs in
# scripts/kb_writer_dev.py): the seven features above plus `sentence_product` (knowledge/calibration.py), a
# standardized L2 logistic regression of strength PRODUCT_C on every dev question's top 10 results, and the
# threshold that answers ANSWERED_SHARE of the answerable questions of writers the fit did not see (their
# leave-one-writer-out confidences). Issue 14's precision target is not a threshold rule any more: a rule on
# precision read off dev landed looser on new writers' questions; the answered share carries over better.
SHIPPED_FEATURES = (*DECISION_FEATURES, calibration.PRODUCT)
PRODUCT_C = 0.03
# The threshold answers this share of the answerable questions of held-out writers, pooled. Above issue 14's
# 0.80 target on purpose: a rule aimed at exactly 0.80 pooled lands below it for a new writer about half the
# time, because writers differ more than the rule's sampling (the comparison of rules, chosen by a rule
# written before the results: `python -m scripts.kb_writer_dev --rules-only`; figures in docs/benchmarks.md).
ANSWERED_SHARE = 0.85
# Who wrote which questions: id ranges, from the comment blocks of ml/data/kb_questions.yml (q001-q279 the
# first writer, q280-q514 a second, q515-q775 a third; later ids a later writer).
WRITERS = ((1, 279), (280, 514), (515, 775))


def writer_of(question_id: str) -> int:
    """The writer (0, 1, 2, ...) of a question id; an id past the last range is a later writer's, and a
    `w<n>q...` id is writer n's (counted from 1, so index n - 1)."""
    match = ID.match(question_id)
    if match and match["writer"]:
        return int(match["writer"]) - 1
    number = int(question_id[1:])
    return next((w for w, (low, high) in enumerate(WRITERS) if low <= number <= high), len(WRITERS))


@dataclass(frozen=True)
class KbQuestion:
    id: str
    text: str
    article: str | None  # None: no published article answers it
    also: tuple[str, ...] = ()
    declared_split: str | None = None  # the file's `split:`, else the id's hash decides

    @property
    def answerable(self) -> bool:
        return self.article is not None

    @property
    def split(self) -> str:
        return self.declared_split or split_of(self.id)

    def accepts(self, slug: str) -> bool:
        return self.article is not None and (slug == self.article or slug in self.also)


def split_of(question_id: str) -> str:
    return "test" if hashlib.sha256(question_id.encode()).digest()[0] % 2 == 0 else "dev"


def _words(text: str) -> str:
    return " ".join(text.lower().strip(" ?!.").split())


def load_questions(path: Path | None = None) -> list[KbQuestion]:
    """The labelled questions of `path`, or of every writer's file when None, checked for shape (ids unique,
    every field present); slugs are not checked against the articles here (the tests do), so the files load
    without the backend."""
    if path is None:
        questions = [q for file in (QUESTIONS, *LATER_WRITERS) for q in load_questions(file)]
        if len({q.id for q in questions}) != len(questions):
            raise ValueError("a question id is repeated across the question files")
        # A later writer's dev question that repeats a test question's words would put test into the fit.
        if len({_words(q.text) for q in questions}) != len(questions):
            raise ValueError("a question's text is repeated across the question files")
        return questions
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path}: expected a non-empty `questions:` list")
    declared = data.get("split")
    if declared is not None and declared not in SPLITS:
        raise ValueError(f"{path}: split must be one of {SPLITS}")
    questions: list[KbQuestion] = []
    seen: set[str] = set()
    for row in rows:
        if not isinstance(row, dict) or set(row) - {"id", "text", "article", "also"}:
            raise ValueError(f"{path}: each question has id, text, article and optionally also: {row!r}")
        qid, text, article = str(row.get("id", "")), row.get("text"), row.get("article")
        also = row.get("also", [])
        if not ID.match(qid) or qid in seen:
            raise ValueError(f"{path}: missing, malformed or repeated id {qid!r}")
        if not isinstance(text, str) or not text.strip() or not isinstance(article, str) or not article:
            raise ValueError(f"{path}: {qid} needs a text and an article (a slug or {NONE!r})")
        if not isinstance(also, list) or (also and article == NONE) or article in also:
            raise ValueError(f"{path}: {qid}: `also` lists other articles of an answerable question")
        seen.add(qid)
        answer = None if article == NONE else article
        questions.append(KbQuestion(qid, text.strip(), answer, tuple(also), declared))
    return questions


@dataclass(frozen=True)
class Outcome:
    """What the search did with one question."""

    question: KbQuestion
    ranking: tuple[str, ...]  # article slugs, best first
    confidence: float  # of the top result (0 without results)
    answered: bool

    @property
    def right(self) -> bool:
        return self.answered and bool(self.ranking) and self.question.accepts(self.ranking[0])


@dataclass(frozen=True)
class ShopFigures:
    split: str
    threshold: float
    calibration: str  # what the calibration says it was fitted on
    questions: int
    answerable: int
    unanswerable: int
    answered_answerable: int
    answered_unanswerable: int
    answered_right: int
    recall_at_1: float  # over answerable questions, whatever the threshold
    recall_at_5: float

    @property
    def answered(self) -> int:
        return self.answered_answerable + self.answered_unanswerable

    @property
    def precision(self) -> float:
        """Answers citing the right article, of all answers given (an unanswerable one answered is wrong)."""
        return self.answered_right / self.answered if self.answered else 0.0

    @property
    def answered_share(self) -> float:
        return self.answered_answerable / self.answerable if self.answerable else 0.0

    @property
    def refusal_rate(self) -> float:
        return 1.0 - self.answered_unanswerable / self.unanswerable if self.unanswerable else 1.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {
            "precision": self.precision,
            "answered_share": self.answered_share,
            "refusal_rate": self.refusal_rate,
        }

    def line(self) -> str:
        return (
            f"answer precision {self.precision:.3f} ({self.answered_right}/{self.answered} answers right), "
            f"answered {self.answered_share:.3f} of answerable "
            f"({self.answered_answerable}/{self.answerable}), "
            f"refused {self.refusal_rate:.3f} of unanswerable "
            f"({self.unanswerable - self.answered_unanswerable}/{self.unanswerable}), "
            f"recall@1 {self.recall_at_1:.3f}, recall@5 {self.recall_at_5:.3f}"
        )

    def verdict(self) -> str:
        """Issue 14's targets, met or not, on this split."""

        def state(value: float, target: float) -> str:
            return "met" if value >= target else "NOT met"

        return (
            f"targets: precision >= {TARGET_PRECISION} {state(self.precision, TARGET_PRECISION)}, "
            f"answered >= {TARGET_ANSWERED} {state(self.answered_share, TARGET_ANSWERED)}"
        )


def figures(outcomes: Sequence[Outcome], split: str, threshold: float, calibration: str) -> ShopFigures:
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]

    def recall(depth: int) -> float:
        found = sum(any(o.question.accepts(s) for s in o.ranking[:depth]) for o in answerable)
        return found / len(answerable) if answerable else 0.0

    return ShopFigures(
        split=split,
        threshold=threshold,
        calibration=calibration,
        questions=len(outcomes),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        answered_answerable=sum(o.answered for o in answerable),
        answered_unanswerable=sum(o.answered for o in unanswerable),
        answered_right=sum(o.right for o in outcomes),
        recall_at_1=recall(1),
        recall_at_5=recall(RECALL_DEPTH),
    )


class ShopKb:
    """The demo shop's published articles, indexed by the backend's runtime (see the module docstring)."""

    def __init__(self, index: KnowledgeIndex, slugs: dict[int, str]) -> None:
        self.index = index  # with the calibration the backend loaded
        self.slugs = slugs  # article id -> slug

    @property
    def calibrator(self) -> Calibrator:
        return self.index.calibrator

    def search(self, questions: Sequence[KbQuestion], calibrator: Calibrator | None = None) -> list[Outcome]:
        """Each question through `KnowledgeIndex.search`, with the index's calibration or `calibrator`."""
        loaded = self.index.calibrator
        if calibrator is not None:
            self.index.calibrator = calibrator  # scoring only: the rankings do not depend on it
        try:
            outcomes = []
            for question in questions:
                # k + 5 as the endpoint asks; no article is unpublished here, so nothing is filtered out.
                result = self.index.search(question.text, RECALL_DEPTH + 5)
                ranking = tuple(self.slugs[h.doc_id] for h in result.hits)
                confidence = result.hits[0].confidence if result.hits else 0.0
                outcomes.append(Outcome(question, ranking, confidence, result.answerable))
        finally:
            self.index.calibrator = loaded
        return outcomes

    def measure(
        self, questions: Sequence[KbQuestion], split: str, calibrator: Calibrator | None = None
    ) -> ShopFigures:
        chosen = [q for q in questions if q.split == split]
        used = calibrator or self.index.calibrator
        return figures(self.search(chosen, calibrator), split, used.threshold, used.fitted_on)

    def decisions(
        self,
        questions: Sequence[KbQuestion],
        names: Sequence[str] = DECISION_FEATURES,
        per_question: int = EXAMPLES_PER_QUESTION,
        products: bool = False,
    ) -> Decisions:
        """Each question's top `per_question` results as examples: features, right (1) or wrong (0); with
        `products`, each result's question x best-sentence product too (what `fit_product` reads)."""
        rows, right, group, product_rows = [], [], [], []
        width = self.index.embedder.dim
        for n, (question, ranked) in enumerate(
            zip(questions, self.index.rank([q.text for q in questions]), strict=True)
        ):
            # A question with no result at all is never answered; a zero row keeps it counted as refused.
            for position in range(max(1, min(per_question, len(ranked.fused)))):
                found = position < len(ranked.fused)
                rows.append(self.index.features(ranked, position, names) if found else (0.0,) * len(names))
                if products:
                    product_rows.append(
                        self.index.sentence_product(ranked, position) if found else np.zeros(width)
                    )
                slug = self.slugs[ranked.fused[position][0]] if found else ""
                right.append(1.0 if found and question.accepts(slug) else 0.0)
                group.append(n)
        return Decisions(
            tuple(names),
            np.array(rows, dtype=float).reshape(len(rows), len(names)),
            np.array(right),
            np.array(group),
            np.array([q.answerable for q in questions], dtype=bool),
            tuple(q.id for q in questions),
            np.array(product_rows, dtype=float).reshape(len(rows), width) if products else None,
        )

    def fit_calibration(self, questions: Sequence[KbQuestion]) -> Calibrator:
        """The answer-or-not-sure decision fitted on the dev split only, threshold chosen there
        (`fit_product`), with its dev figures: in-sample through the search, and leave one writer out."""
        dev = [q for q in questions if q.split == "dev"]
        examples = self.decisions(dev, products=True)
        writers = sorted({writer_of(q.id) for q in dev})
        fitted_on = (
            f"demo shop dev split ({len(dev)} questions: ml/data/kb_questions.yml's with sha256(id) first "
            f"byte odd, later writers' dev files; {sum(q.answerable for q in dev)} answerable; writers "
            f"{', '.join(str(w + 1) for w in writers)}), top {EXAMPLES_PER_QUESTION} result(s) each, "
            f"{len(self.slugs)} seeded articles, encoder {self.index.embedder.name}"
        )
        chosen = fit_product(examples, fitted_on)
        dev_figures = self.measure(questions, "dev", chosen)  # through search: what the endpoint would do
        scores = scores_of(chosen, examples, examples.top)
        held_out = leave_one_writer_out(examples)
        metrics = {
            "threshold": chosen.threshold,
            "target_precision": TARGET_PRECISION,
            "answered_share_target": ANSWERED_SHARE,
            "c": PRODUCT_C,
            "dev_precision": dev_figures.precision,
            "dev_answered_share": dev_figures.answered_share,
            "dev_refusal_rate": dev_figures.refusal_rate,
            "dev_recall_at_1": dev_figures.recall_at_1,
            "dev_recall_at_5": dev_figures.recall_at_5,
            **{f"dev_lowo_{k}": v for k, v in held_out["pooled"].items()},
            **{f"dev_top1.{k}": v for k, v in calibration.reliability(scores, examples.right).items()},
        }
        return calibration.with_threshold(
            chosen, chosen.threshold, {k: round(v, 4) for k, v in metrics.items()}
        )

    def cross_validate(
        self,
        questions: Sequence[KbQuestion],
        z: float,
        folds: int = FOLDS,
        target: float = THRESHOLD_PRECISION,
        partitions: int = 3,
        names: Sequence[str] = DECISION_FEATURES,
        examples: Decisions | None = None,
        per_question: int = EXAMPLES_PER_QUESTION,
    ) -> list[dict[str, float]]:
        """The whole procedure (`fit`: model and threshold) judged on dev questions it did not see: for each
        of `partitions` ways to cut dev into `folds` (by further bytes of the id's SHA-256), every fold is
        decided by a fit made on the other folds alone. Test is not touched."""
        dev = [q for q in questions if q.split == "dev"]
        examples = examples or self.decisions(dev, names, per_question)
        rows = []
        for partition in range(1, partitions + 1):
            fold = np.array([hashlib.sha256(q.id.encode()).digest()[partition] % folds for q in dev])
            scores = np.zeros(len(dev))
            answered = np.zeros(len(dev), dtype=bool)
            for held in range(folds):
                fitted = fit(examples.take(fold != held), "cross-validation", z, target)
                inside = fold == held
                scores[inside] = [fitted.confidence(examples.x[row]) for row in examples.top[inside]]
                answered[inside] = scores[inside] >= fitted.threshold
            rows.append(
                {
                    "partition": partition,
                    **decision_figures(examples.right, examples.answerable, answered),
                    "auc": _auc(scores, examples.right),
                }
            )
        return rows


CV_FIGURES = ("precision", "precision_mix", "answered_share", "refusal_rate", "auc")


@dataclass(frozen=True)
class Decisions:
    """Labelled questions' top results as examples: features (in `names` order) and whether each result is a
    right article, per result; which question each result belongs to; per question, whether it is answerable
    and its id."""

    names: tuple[str, ...]
    x: np.ndarray
    labels: np.ndarray
    question: np.ndarray  # per result: the index of its question
    answerable: np.ndarray  # per question
    ids: tuple[str, ...]  # per question
    products: np.ndarray | None = None  # per result: question x best-sentence vector product, if made

    @property
    def top(self) -> np.ndarray:
        """The row of each question's top result (rows are grouped by question, best result first)."""
        return np.searchsorted(self.question, np.arange(len(self.ids)))

    @property
    def right(self) -> np.ndarray:
        """Per question: whether its top result is a right article (what an answer's precision counts)."""
        return self.labels[self.top]

    def take(self, keep: np.ndarray) -> Decisions:
        """The examples of the questions where `keep` (per question) is true."""
        rows = keep[self.question]
        renumber = np.cumsum(keep) - 1
        return Decisions(
            self.names,
            self.x[rows],
            self.labels[rows],
            renumber[self.question[rows]],
            self.answerable[keep],
            tuple(i for i, k in zip(self.ids, keep, strict=True) if k),
            None if self.products is None else self.products[rows],
        )


def fit(
    examples: Decisions, fitted_on: str, z: float = WILSON_Z, target: float = THRESHOLD_PRECISION
) -> Calibrator:
    """Logistic regression on every example (each question's top result(s), grouped by question), and its
    threshold: the operating-point rule (`calibration.choose_threshold`, `target` precision, Wilson bound
    at `z`) applied to the *out-of-fold* confidences of each question's top result (FOLDS folds of questions
    by byte THRESHOLD_BYTE of the id's SHA-256), since a threshold read off a model's confidences on its own
    training questions lets through more than it should elsewhere."""
    fitted = calibration.fit(examples.x, examples.labels, fitted_on, examples.names, STANDARDIZE)
    held_out = held_out_scores(
        examples,
        hash_folds(examples.ids),
        lambda train: calibration.fit(train.x, train.labels, "", examples.names, STANDARDIZE),
    )
    threshold = calibration.choose_threshold(held_out, examples.right, target, z)
    return calibration.with_threshold(fitted, threshold, {})


def fit_product(
    examples: Decisions, fitted_on: str, c: float = PRODUCT_C, share: float = ANSWERED_SHARE
) -> Calibrator:
    """The shipped decision: `calibration.fit_product` on every example (features and question x sentence
    products), and its threshold: the highest that answers `share` of the answerable questions by their
    top result's confidence from fits that did not see their writer (one fold per writer, the procedure a new
    writer's questions meet); with fewer than two writers, FOLDS folds by byte THRESHOLD_BYTE of the id's
    SHA-256."""
    fitted, held_out = fit_product_held_out(examples, fitted_on, c)
    threshold = calibration.choose_threshold_answered(held_out, examples.answerable, share)
    return calibration.with_threshold(fitted, threshold, {})


def fit_product_held_out(
    examples: Decisions, fitted_on: str, c: float = PRODUCT_C
) -> tuple[Calibrator, np.ndarray]:
    """`fit_product` before its threshold: the fit on every example, and the held-out confidences a threshold
    rule reads (`inner_scores`); scripts/kb_writer_dev.py compares rules on them."""
    if examples.products is None:
        raise ValueError("fit_product needs decisions made with products=True")
    fitted = calibration.fit_product(
        examples.x, examples.products, examples.labels, fitted_on, examples.names, c
    )
    return fitted, inner_scores(examples, c)


def hash_folds(ids: Sequence[str]) -> np.ndarray:
    """FOLDS folds of questions by byte THRESHOLD_BYTE of the id's SHA-256 (not the split's byte)."""
    return np.array([hashlib.sha256(i.encode()).digest()[THRESHOLD_BYTE] % FOLDS for i in ids])


def threshold_folds(ids: Sequence[str]) -> np.ndarray:
    """The folds `fit_product` chooses its threshold on: by writer when there are two or more."""
    writers = np.array([writer_of(i) for i in ids])
    return writers if len(set(writers.tolist())) >= 2 else hash_folds(ids)


def held_out_scores(
    examples: Decisions, fold: np.ndarray, fit_part: Callable[[Decisions], Calibrator]
) -> np.ndarray:
    """Each question's top result's confidence under `fit_part` fitted on the other folds' questions (0 where
    there was too little to fit on: those questions count as refused)."""
    held_out = np.zeros(len(examples.ids))
    for held in np.unique(fold):
        inside = fold == held
        train = examples.take(~inside)
        if len(set(train.labels)) < 2:
            continue
        held_out[inside] = scores_of(fit_part(train), examples, examples.top[inside])
    return held_out


def inner_scores(examples: Decisions, c: float = PRODUCT_C) -> np.ndarray:
    """`held_out_scores` of `calibration.fit_product` over the folds of `threshold_folds`."""

    def fit_part(train: Decisions) -> Calibrator:
        assert train.products is not None
        return calibration.fit_product(train.x, train.products, train.labels, "", examples.names, c)

    return held_out_scores(examples, threshold_folds(examples.ids), fit_part)


def scores_of(fitted: Calibrator, examples: Decisions, rows: np.ndarray) -> np.ndarray:
    """The confidence of these example rows under `fitted`, by `Calibrator.confidence` as the search computes
    it (with PRODUCT, the rows' question x sentence products weighted by the fit's `product_vector`)."""
    if calibration.PRODUCT not in fitted.features:
        return np.array([fitted.confidence(examples.x[row]) for row in rows])
    assert examples.products is not None
    return np.array(
        [
            fitted.confidence((*examples.x[row], float(fitted.product_vector @ examples.products[row])))
            for row in rows
        ]
    )


def leave_one_writer_out(
    examples: Decisions, c: float = PRODUCT_C, share: float = ANSWERED_SHARE
) -> dict[str, Any]:
    """The whole `fit_product` procedure (model and threshold) judged on each writer's questions by a fit on
    the other writers' alone: per writer and pooled, precision, answered share, refusal rate, AUC of the top
    result's confidence and precision at 80% of the answerable answered (threshold-free)."""
    writers = np.array([writer_of(i) for i in examples.ids])
    scores, answered = np.zeros(len(examples.ids)), np.zeros(len(examples.ids), dtype=bool)
    out: dict[str, Any] = {}
    for writer in sorted(set(writers.tolist())):
        inside = writers == writer
        fitted = fit_product(examples.take(~inside), "leave one writer out", c, share)
        scores[inside] = scores_of(fitted, examples, examples.top[inside])
        answered[inside] = scores[inside] >= fitted.threshold
        out[f"writer {writer + 1}"] = held_out_figures(
            examples.right[inside], examples.answerable[inside], scores[inside], answered[inside]
        ) | {"threshold": fitted.threshold}
    out["pooled"] = held_out_figures(examples.right, examples.answerable, scores, answered)
    return out


def held_out_figures(
    right: np.ndarray, answerable: np.ndarray, scores: np.ndarray, answered: np.ndarray
) -> dict[str, float]:
    return decision_figures(right, answerable, answered) | {
        "auc": _auc(scores, right),
        "precision_at_80": precision_at_answered(scores, right, answerable, 0.80),
        "questions": float(len(right)),
    }


def precision_at_answered(
    scores: np.ndarray, right: np.ndarray, answerable: np.ndarray, share: float
) -> float:
    """Precision when the threshold answers (at least) `share` of the answerable questions."""
    threshold = calibration.choose_threshold_answered(scores, answerable, share)
    answered = scores >= threshold
    return float(right[answered].mean()) if answered.any() else 0.0


def decision_figures(right: np.ndarray, answerable: np.ndarray, answered: np.ndarray) -> dict[str, float]:
    """Precision, answered share of answerable, refusal rate of unanswerable; and `precision_mix`, the
    precision these answered and refused shares would give on questions UNANSWERABLE_MIX unanswerable."""
    answered_share = float(answered[answerable].mean()) if answerable.any() else 0.0
    refusal = float(1.0 - answered[~answerable].mean()) if (~answerable).any() else 1.0
    # Right answers per answerable question answered (a wrong article counts against it too).
    right_share = float(right[answered & answerable].mean()) if (answered & answerable).any() else 0.0
    good = (1 - UNANSWERABLE_MIX) * answered_share * right_share
    given = (1 - UNANSWERABLE_MIX) * answered_share + UNANSWERABLE_MIX * (1.0 - refusal)
    return {
        "precision": float(right[answered].mean()) if answered.any() else 0.0,
        "precision_mix": good / given if given else 0.0,
        "answered_share": answered_share,
        "refusal_rate": refusal,
    }


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores)) if len(set(labels)) == 2 else float("nan")


@contextmanager
def shop_kb(settings: Settings | None = None) -> Iterator[ShopKb]:
    """The seeded demo shop's knowledge index, opened by the backend in a throw-away database and directory.

    `settings` defaults to the environment's, so the KB_* overrides apply; its
    database and index directory are always replaced by temporary ones.
    """
    with tempfile.TemporaryDirectory(prefix="kb-shop-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'shop.db'}"
        base = settings or Settings()
        configured = base.model_copy(update={"database_url": url, "kb_index_dir": Path(tmp) / "kb_index"})
        _migrate_and_seed(url)
        index, slugs = asyncio.run(_open(configured))
        yield ShopKb(index, slugs)


def shop_figures(
    split: str = "test", settings: Settings | None = None, path: Path | None = None
) -> ShopFigures:
    """The shipped (or configured) calibration's figures on one split: what `make eval-decisions` prints."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    with shop_kb(settings) as kb:
        return kb.measure(load_questions(path), split)


def _migrate_and_seed(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = to_sync_url(url)
    command.upgrade(config, "head")
    engine = create_engine(to_sync_url(url))
    try:
        with Session(engine) as session:
            seed(session, 1, random.Random(7))  # the articles are what matters; one customer keeps it quick
    finally:
        engine.dispose()


async def _open(settings: Settings) -> tuple[KnowledgeIndex, dict[int, str]]:
    engine = make_engine(to_async_url(settings.database_url))
    try:
        runtime = KnowledgeRuntime(make_sessionmaker(engine), settings)
        await runtime.open()
        await runtime.close()  # stops its background sync; the index stays usable in memory
        if runtime.index is None:
            raise RuntimeError(runtime.error or "the knowledge index did not open")
        runtime.index.embedder.load()
        async with runtime.sessions() as session:
            articles = await service.list_articles(session, "published")
        return runtime.index, {a.id: a.slug for a in articles}
    finally:
        await engine.dispose()
