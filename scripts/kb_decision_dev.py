"""The shop's answer-or-not-sure decision (issue 14) studied on the DEV split only: where it is wrong, and
whether another decision does better. Run: python -m scripts.kb_decision_dev

Reads only the dev questions of ml/data/kb_questions.yml (sha256(id) first byte odd); no test question is
ranked, scored or printed. Every variant is judged by the procedure `eval_kb --shop` prints: the model and its
threshold (the operating-point rule on inner out-of-fold confidences, as `ml.kb_shop.fit`) refitted on 4/5 of
dev and judged on the fifth, for 3 partitions of dev into 5 folds (bytes 1-3 of the id's SHA-256). Printed per
variant: out-of-fold precision, precision at the guide's 30% unanswerable mix, answered share, refusal rate,
AUC of the top result's confidence, precision at 80% answered (threshold-free), and the margin the rule is
chosen by (the smaller of precision at the mix - 0.85 and answered - 0.80); then its difference from today's
decision fold by fold (15 folds: mean and standard deviation), which is the noise a change must beat.
Also prints today's out-of-fold false answers on dev. Writes var/eval/kb_decision_dev.json.
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from knowledge import calibration
from knowledge.chunking import sentences
from knowledge.lexical import tokenize
from knowledge.store import KnowledgeIndex, Ranked
from ml import kb_shop
from scripts.paths import VAR

OUT = VAR / "eval" / "kb_decision_dev.json"
PARTITIONS = (1, 2, 3)
ANSWERED = 0.80
# Candidate features beyond the shipped seven (computed here, from the same ranking the search makes).
EXTRA = (
    "fused_gap",
    "plain_sentence",
    "plain_sentence_gap",
    "title_cosine",
    "query_words",
    "second_sentence",
    "unknown_words",
)
THIRD_WRITER = 515  # ids from q515 on were written by the third writer (ml/data/kb_questions.yml)

Scorer = Callable[[np.ndarray], np.ndarray]
Trainer = Callable[[np.ndarray, np.ndarray], Scorer]


@dataclass(frozen=True)
class Variant:
    name: str
    features: tuple[str, ...]
    trainer: Trainer
    top_only: bool = False  # fit on each question's top result only (else its top 10)
    rule: tuple[float, float] = (kb_shop.THRESHOLD_PRECISION, kb_shop.WILSON_Z)


def logistic(standardize: bool = False) -> Trainer:
    """The shipped model: L2 logistic regression, C=1 (calibration.fit), optionally standardized."""

    def train(x: np.ndarray, y: np.ndarray) -> Scorer:
        from sklearn.linear_model import LogisticRegression

        mean = x.mean(axis=0) if standardize else np.zeros(x.shape[1])
        scale = x.std(axis=0) if standardize else np.ones(x.shape[1])
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=1.0, max_iter=1000).fit((x - mean) / scale, y)
        return lambda rows: model.predict_proba((rows - mean) / scale)[:, 1]

    return train


def boosted(depth: int, trees: int) -> Trainer:
    """A small gradient-boosted model (scikit-learn), the alternative the issue names."""

    def train(x: np.ndarray, y: np.ndarray) -> Scorer:
        from sklearn.ensemble import GradientBoostingClassifier

        model = GradientBoostingClassifier(
            max_depth=depth, n_estimators=trees, learning_rate=0.05, subsample=0.8, random_state=0
        )
        model.fit(x, y)
        return lambda rows: model.predict_proba(rows)[:, 1]

    return train


# ----- the examples: every dev question's top 10 results, shipped and candidate features -----


def plain_sentence_vectors(index: KnowledgeIndex) -> dict[int, np.ndarray]:
    """Each article's sentences without the title prefix the shipped sentence feature gives them: whether
    one statement of the article matches, apart from the article's topic."""
    out = {}
    for doc_id, chunk_ids in index.doc_chunks.items():
        texts = []
        for chunk in (index.chunks[c] for c in chunk_ids):
            prefix = f"{chunk.title}: " if chunk.title else ""
            texts.extend(s[len(prefix) :] for s in sentences(chunk))
        out[doc_id] = index.embedder.encode(texts) if texts else np.zeros((1, index.embedder.dim))
    return out


def title_vectors(index: KnowledgeIndex) -> dict[int, np.ndarray]:
    titles = {d: index.chunks[ids[0]].title for d, ids in index.doc_chunks.items() if ids}
    encoded = index.embedder.encode(list(titles.values()))
    return dict(zip(titles, encoded, strict=True))


def extra_features(
    index: KnowledgeIndex,
    ranked: Ranked,
    position: int,
    text: str,
    plain: dict[int, np.ndarray],
    titles: dict[int, np.ndarray],
    vocabulary: frozenset[str],
) -> tuple[float, ...]:
    query = ranked.query
    assert query is not None
    pool = [d for d, _ in ranked.fused[:10]]
    doc_id, fused = ranked.fused[position]
    other_fused = max((s for d, s in ranked.fused if d != doc_id), default=0.0)
    best_plain = {d: float((plain[d] @ query).max()) for d in pool}
    own = best_plain[doc_id]
    other_plain = max((v for d, v in best_plain.items() if d != doc_id), default=0.0)
    titled = np.sort(index.sentence_vectors(doc_id) @ query)
    words = tokenize(text)
    return (
        (fused - other_fused) * 10,  # RRF scores are ~0.1; scaled so C=1 treats it like the others
        own,
        own - other_plain,
        float(titles[doc_id] @ query),
        float(np.log1p(len(text.split()))),
        float(titled[-2]) if len(titled) > 1 else float(titled[-1]),
        sum(w not in vocabulary for w in words) / len(words) if words else 0.0,
    )


def examples(kb: kb_shop.ShopKb, dev: Sequence[kb_shop.KbQuestion]) -> kb_shop.Decisions:
    """Like `ShopKb.decisions` (top 10 results per question, right or wrong), with the EXTRA features."""
    index = kb.index
    plain, titles = plain_sentence_vectors(index), title_vectors(index)
    vocabulary = frozenset(w for c in index.chunks.values() for w in tokenize(c.embedding_text()))
    rows, right, group = [], [], []
    for n, (question, ranked) in enumerate(zip(dev, index.rank([q.text for q in dev]), strict=True)):
        for position in range(min(kb_shop.EXAMPLES_PER_QUESTION, len(ranked.fused))):
            shipped = index.features(ranked, position, kb_shop.DECISION_FEATURES)
            extra = extra_features(index, ranked, position, question.text, plain, titles, vocabulary)
            rows.append(shipped + extra)
            right.append(1.0 if question.accepts(kb.slugs[ranked.fused[position][0]]) else 0.0)
            group.append(n)
    return kb_shop.Decisions(
        kb_shop.DECISION_FEATURES + EXTRA,
        np.array(rows, dtype=float),
        np.array(right),
        np.array(group),
        np.array([q.answerable for q in dev], dtype=bool),
        tuple(q.id for q in dev),
    )


# ----- cross-validation within dev -----


def columns(data: kb_shop.Decisions, names: Sequence[str]) -> np.ndarray:
    return data.x[:, [data.names.index(n) for n in names]]


def train_rows(data: kb_shop.Decisions, variant: Variant) -> tuple[np.ndarray, np.ndarray]:
    x, y = columns(data, variant.features), data.labels
    return (x[data.top], y[data.top]) if variant.top_only else (x, y)


def decide(train: kb_shop.Decisions, variant: Variant) -> tuple[Scorer, float]:
    """Fit on `train` and choose the threshold as `kb_shop.fit` does: on inner out-of-fold confidences of
    each question's top result (folds by byte THRESHOLD_BYTE of the id's SHA-256)."""
    fold = np.array([hashlib.sha256(i.encode()).digest()[kb_shop.THRESHOLD_BYTE] % 5 for i in train.ids])
    held_out = np.zeros(len(train.ids))
    for held in range(kb_shop.FOLDS):
        inner = train.take(fold != held)
        if not (fold == held).any() or len(set(inner.labels)) < 2:
            continue
        score = variant.trainer(*train_rows(inner, variant))
        held_out[fold == held] = score(columns(train, variant.features)[train.top[fold == held]])
    threshold = calibration.choose_threshold(held_out, train.right, *variant.rule)
    return variant.trainer(*train_rows(train, variant)), threshold


def out_of_fold(data: kb_shop.Decisions, variant: Variant, partition: int) -> tuple[np.ndarray, np.ndarray]:
    """Per dev question: its top result's confidence and whether it is answered, by fits without its fold."""
    fold = np.array([hashlib.sha256(i.encode()).digest()[partition] % kb_shop.FOLDS for i in data.ids])
    scores, answered = np.zeros(len(data.ids)), np.zeros(len(data.ids), dtype=bool)
    for held in range(kb_shop.FOLDS):
        inside = fold == held
        score, threshold = decide(data.take(~inside), variant)
        scores[inside] = score(columns(data, variant.features)[data.top[inside]])
        answered[inside] = scores[inside] >= threshold
    return scores, answered


def margin(figures: dict[str, float]) -> float:
    return min(
        figures["precision_mix"] - kb_shop.TARGET_PRECISION,
        figures["answered_share"] - kb_shop.TARGET_ANSWERED,
    )


def at_answered(scores: np.ndarray, data: kb_shop.Decisions) -> float:
    threshold = np.quantile(scores[data.answerable], 1 - ANSWERED, method="lower")
    return float(data.right[scores >= threshold].mean())


def evaluate(data: kb_shop.Decisions, variant: Variant) -> dict[str, Any]:
    """Pooled figures per partition (mean reported) and per-fold figures (for the paired noise)."""
    pooled, per_fold = [], []
    for partition in PARTITIONS:
        scores, answered = out_of_fold(data, variant, partition)
        figures = kb_shop.decision_figures(data.right, data.answerable, answered)
        figures |= {"auc": kb_shop._auc(scores, data.right), "at_80": at_answered(scores, data)}
        pooled.append(figures | {"margin": margin(figures)})
        fold = np.array([hashlib.sha256(i.encode()).digest()[partition] % kb_shop.FOLDS for i in data.ids])
        for held in range(kb_shop.FOLDS):
            inside = fold == held
            part = kb_shop.decision_figures(data.right[inside], data.answerable[inside], answered[inside])
            per_fold.append(part | {"margin": margin(part)})
    mean = {k: float(np.mean([p[k] for p in pooled])) for k in pooled[0]}
    return {"variant": variant.name, "mean": mean, "partitions": pooled, "folds": per_fold}


def paired(result: dict[str, Any], base: dict[str, Any], key: str) -> tuple[float, float]:
    diff = np.array([a[key] - b[key] for a, b in zip(result["folds"], base["folds"], strict=True)])
    return float(diff.mean()), float(diff.std(ddof=1))


# ----- what is compared -----


def variants() -> list[Variant]:
    shipped = kb_shop.DECISION_FEATURES
    lr = logistic()
    out = [Variant("today: logistic, 7 features, top 10", shipped, lr)]
    out += [Variant(f"today + {name}", (*shipped, name), lr) for name in EXTRA]
    out += [
        Variant("today + all candidates", shipped + EXTRA, lr),
        Variant("logistic standardized, 7 features, top 1", shipped, logistic(True), top_only=True),
        Variant("boosted depth 2, 150 trees, 7 features, top 10", shipped, boosted(2, 150)),
        Variant("boosted depth 2, 150 trees, 7 features, top 1", shipped, boosted(2, 150), top_only=True),
        Variant("boosted depth 3, 100 trees, all features, top 10", shipped + EXTRA, boosted(3, 100)),
    ]
    shipped_rule = (kb_shop.THRESHOLD_PRECISION, kb_shop.WILSON_Z)
    out += [
        Variant(f"today, rule {t} at z={z}", shipped, lr, rule=(t, z))
        for t, z in kb_shop.RULES_COMPARED
        if (t, z) != shipped_rule
    ]
    return out


def false_answers(
    data: kb_shop.Decisions, dev: Sequence[kb_shop.KbQuestion], kb: kb_shop.ShopKb
) -> list[str]:
    """Today's decision's out-of-fold false answers on dev (partition 1), most confident first."""
    scores, answered = out_of_fold(data, variants()[0], PARTITIONS[0])
    ranked = kb.index.rank([q.text for q in dev])
    lines = []
    for n in np.argsort(-scores):
        if answered[n] and not data.right[n]:
            question, top = dev[n], kb.slugs[ranked[n].fused[0][0]]
            kind = "unanswerable" if not question.answerable else f"wrong article (right: {question.article})"
            lines.append(f"{scores[n]:.3f}  {question.id}  {kind:<48} top {top:<20} {question.text}")
    return lines


def by_writer(data: kb_shop.Decisions) -> list[str]:
    """Today's out-of-fold decision on the first two writers' dev questions and on the third's apart
    (partition 1): whether the new questions are harder for the decision."""
    scores, answered = out_of_fold(data, variants()[0], PARTITIONS[0])
    third = np.array([int(i[1:]) >= THIRD_WRITER for i in data.ids])
    lines = []
    for name, keep in (("writers 1-2 (q001-q514)", ~third), ("writer 3 (q515-)", third)):
        f = kb_shop.decision_figures(data.right[keep], data.answerable[keep], answered[keep])
        lines.append(
            f"{name:<26} {int(keep.sum())} questions ({int(data.answerable[keep].sum())} answerable): "
            f"precision {f['precision']:.3f}, answered {f['answered_share']:.3f}, refused "
            f"{f['refusal_rate']:.3f}, AUC {kb_shop._auc(scores[keep], data.right[keep]):.3f}, "
            f"recall@1 {data.right[keep & data.answerable].mean():.3f}"
        )
    return lines


def main() -> None:
    questions = kb_shop.load_questions()
    dev = [q for q in questions if q.split == "dev"]  # test is never ranked here
    with kb_shop.shop_kb() as kb:
        data = examples(kb, dev)
        wrong = false_answers(data, dev, kb)
        writers = by_writer(data)
        results = [evaluate(data, v) for v in variants()]
    print(
        f"Shop decision, DEV only: {len(dev)} questions ({int(data.answerable.sum())} answerable), "
        f"5-fold cross-validation within dev, partitions {PARTITIONS}; fold-paired difference vs today "
        "(mean +- sd over 15 folds)."
    )
    head = f"{'variant':<50}{'prec':>7}{'@30%':>7}{'answ':>7}{'refus':>7}{'AUC':>7}{'@80%':>7}{'margin':>8}"
    print(head + f"{'d margin':>18}{'d @30%':>18}")
    base = results[0]
    for r in results:
        m = r["mean"]
        dm, sm = paired(r, base, "margin")
        dp, sp = paired(r, base, "precision_mix")
        print(
            f"{r['variant']:<50}{m['precision']:>7.3f}{m['precision_mix']:>7.3f}{m['answered_share']:>7.3f}"
            f"{m['refusal_rate']:>7.3f}{m['auc']:>7.3f}{m['at_80']:>7.3f}{m['margin']:>8.3f}"
            f"{dm:>+10.3f} +-{sm:.3f}{dp:>+10.3f} +-{sp:.3f}"
        )
    print(
        "\nper partition, margin: "
        + "; ".join(
            f"{r['variant']}: " + " ".join(f"{p['margin']:+.3f}" for p in r["partitions"]) for r in results
        )
    )
    print("\nToday's decision by writer (dev, out-of-fold, partition 1):\n" + "\n".join(writers))
    print(f"\nToday's out-of-fold false answers on dev (partition {PARTITIONS[0]}): {len(wrong)}")
    print("\n".join(wrong))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"split": "dev", "questions": len(dev), "results": results, "false": wrong}))
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
