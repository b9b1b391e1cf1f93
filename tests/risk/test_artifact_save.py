"""Saving a risk model is safe with several writers at once (the model Job's concurrent runs, threads)."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from backend.risk import artifact
from ml.risk import training
from tests.risk.helpers import churn_data, churn_models


def test_concurrent_saves_of_one_path_all_succeed_and_leave_one_whole_file(tmp_path: Path) -> None:
    trained, _ = churn_models()
    data = churn_data()
    model = training.to_artifact(trained.result, data.X, data.y, "churn", "crm")
    path = tmp_path / "models" / "churn.joblib"
    for _ in range(3):
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(lambda _: artifact.save(model, path), range(6)))  # re-raises a writer's failure
    loaded = artifact.load(path)
    row = data.X.iloc[0].to_dict()
    assert loaded.score(row).score == model.score(row).score
    assert [p.name for p in path.parent.iterdir()] == ["churn.joblib"]  # no temporary file left behind
