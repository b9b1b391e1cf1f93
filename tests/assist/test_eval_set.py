"""The hand-labelled assist set (ml/data/assist_eval.yml) loads, covers both splits, and is scored as
docs/labelling.md section 6 says."""

from backend.seed_articles import ARTICLES
from ml.eval_assist import Situation, figures, load


def test_the_set_is_well_formed_and_split_by_id():
    data = load()
    assert len(data.situations) >= 60 and len(data.past) >= 40
    splits = {s.split for s in data.situations}
    assert splits == {"dev", "test"}
    past_questions = {p.question.lower() for p in data.past}
    assert not any(s.text.lower() in past_questions for s in data.situations)  # written apart
    # Every topic a situation may be helped by has an article or a past reply that can be suggested.
    used = {t for s in data.situations for t in s.use}
    assert used <= {p.topic for p in data.past} | {slug for slug, *_ in ARTICLES}


def test_hits_mrr_and_no_useful_suggestion():
    a = Situation("s901", "a", ("late-delivery",))
    b = Situation("s902", "b", ("promo-code", "cancel-order"))
    c = Situation("s903", "c", ("reset-password",))
    ranked = [
        (a, ["late-delivery", "seeded"]),
        (b, ["seeded", "shipping-times", "cancel-order"]),
        (c, ["seeded"] * 5 + ["reset-password"]),  # the sixth is not shown
    ]
    found = figures("dev", "x", ranked)
    assert (found.hit_at_1, found.hit_at_3) == (round(1 / 3, 3), round(2 / 3, 3))
    assert found.mrr == round((1 + 1 / 3) / 3, 3) and found.no_useful == round(1 / 3, 3)
