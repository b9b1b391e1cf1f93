"""`make eval-loop` (ml/eval_loop.py): each week's policy is scored only on the next week, never on the weeks
it was trained on; the replay runs on a small seeded example and is the same for a seed."""

import json
from pathlib import Path

import pytest

from ml import eval_loop
from ml.eval_loop import Turn, replay, turns_of

FEATURES = eval_loop.handoff_features([eval_loop.TurnView("greet", "neutral", 0.0, "hi")])


@pytest.fixture(scope="module")
def dev_turns() -> list[Turn]:
    items = eval_loop.dev_items()
    return turns_of(items, eval_loop.notes_parses(), weeks=4, share=0.6, seed=3)


def test_only_dev_conversations_are_replayed() -> None:
    items = eval_loop.dev_items()
    assert items and {c.split for c in items} == {"dev"}
    assert not any(c.id.startswith("c") for c in items)  # set C (the test set) names its ids c001...


def test_each_conversation_is_in_one_week_and_the_share_is_reviewed(dev_turns: list[Turn]) -> None:
    weeks: dict[str, set[int]] = {}
    for t in dev_turns:
        weeks.setdefault(t.conversation, set()).add(t.week)
    assert all(len(w) == 1 for w in weeks.values())
    assert {w for ws in weeks.values() for w in ws} == {0, 1, 2, 3}
    share = sum(t.reviewed for t in dev_turns) / len(dev_turns)
    assert 0.5 < share < 0.7


@pytest.mark.slow  # refits the policy for every week
def test_a_weeks_policy_is_never_scored_on_its_training_weeks(dev_turns: list[Turn]) -> None:
    results = replay(dev_turns, weeks=4)
    assert [r.week for r in results] == [2, 3, 4]
    for r in results:
        assert r.week not in r.trained_on_weeks and max(r.trained_on_weeks) == r.week - 1
        assert r.scored_conversations and not (r.trained_conversations & r.scored_conversations)
        scored = {t.conversation for t in dev_turns if t.week == r.week - 1}
        assert r.scored_conversations == scored
        assert r.labels_so_far == sum(t.reviewed for t in dev_turns if t.week < r.week - 1)
    assert [r.labels_so_far for r in results] == sorted(r.labels_so_far for r in results)
    assert results[-1].policy.startswith("learnt@")  # three weeks of labels are enough to fit


def test_a_conversation_in_two_weeks_is_refused() -> None:
    turns = [Turn("x", 0, FEATURES, 0, True), Turn("x", 1, FEATURES, 0, True)]
    with pytest.raises(AssertionError, match="training weeks"):
        replay(turns, weeks=2)


def test_too_few_labels_leave_the_week_to_the_rules() -> None:
    turns = [Turn(f"c{i}", i % 2, FEATURES, i % 3 == 0, True) for i in range(8)]
    (result,) = replay(turns, weeks=2)
    assert result.policy == "rules (too few labels)" and result.learnt == result.rules


@pytest.mark.slow  # replays every week of the dev conversations
def test_the_replay_runs_and_says_the_feedback_is_simulated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eval_loop, "cached_parses", lambda: None)  # the notes: no Rasa model needed
    out = tmp_path / "loop.json"
    assert eval_loop.main(["--weeks", "3", "--seed", "5", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SIMULATED" in printed and "rule-written labels" in printed
    body = json.loads(out.read_text())
    assert [w["week"] for w in body["weeks"]] == [2, 3]
    assert all(0 <= w["learnt"]["precision"] <= 1 and 0 <= w["rules"]["recall"] <= 1 for w in body["weeks"])
    assert eval_loop.main(["--weeks", "3", "--seed", "5", "--json", str(tmp_path / "again.json")]) == 0
    assert json.loads((tmp_path / "again.json").read_text()) == body


@pytest.mark.slow  # replays the weeks over several seeds
def test_the_mean_over_seeds_averages_each_week(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eval_loop, "cached_parses", lambda: None)
    items, parses = eval_loop.dev_items(), eval_loop.notes_parses()
    runs = [replay(turns_of(items, parses, 3, 0.5, seed), 3) for seed in (5, 6)]
    means = [eval_loop.mean_of(rows) for rows in zip(*runs, strict=True)]
    for week, mean in enumerate(means):
        expected = (runs[0][week].learnt["precision"] + runs[1][week].learnt["precision"]) / 2
        assert mean.learnt["precision"] == pytest.approx(expected, abs=1e-3)
    assert eval_loop.main(["--weeks", "3", "--seed", "5", "--seeds", "2"]) == 0
    assert "Mean over seeds 5..6" in capsys.readouterr().out
