"""`python -m ml.risk.train_churn` on a small synthetic CSV: report, artifact, registry row."""

import pytest

from backend.core.config import get_settings
from ml.risk import train_churn
from tests.conftest import migrate
from tests.dbcheck import rows
from tests.risk.synthetic import churn_csv


@pytest.fixture
def environment(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    migrate(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("RISK_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    yield url, tmp_path
    get_settings.cache_clear()


@pytest.mark.integration  # `environment` migrates a database
def test_a_csv_export_is_trained_reported_and_registered(environment, capsys):
    url, tmp_path = environment
    export = churn_csv(tmp_path / "export.csv", rows=300)
    train_churn.main(["--csv", str(export), "--target", "churned", "--id", "customer_id", "--promote"])
    out = capsys.readouterr().out
    assert "kind: churn_csv" in out and "dropped: constant" in out
    for figure in ("ROC-AUC", "PR-AUC", "Brier", "calibration on the hold-out, gbm", "mean predicted"):
        assert figure in out
    assert "registered churn_csv v1" in out and "promoted churn_csv v1 to production" in out
    [version] = rows(url, "SELECT kind, version, status, artifact_path, data_fingerprint FROM model_versions")
    assert version["status"] == "production" and len(version["data_fingerprint"]) == 64
    assert (tmp_path / "models" / version["artifact_path"]).is_file()

    # The same data again: a candidate that cannot beat the production model stays a candidate.
    train_churn.main(["--csv", str(export), "--target", "churned", "--id", "customer_id", "--promote"])
    assert "not promoted: the candidate's hold-out ROC-AUC" in capsys.readouterr().out
    statuses = rows(url, "SELECT status FROM model_versions ORDER BY id")
    assert [r["status"] for r in statuses] == ["production", "candidate"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--csv", "missing.csv", "--target", "churned"], "no such file"),
        (["--csv", "{export}", "--target", "nope"], "target column 'nope' not in"),
        (["--csv", "{export}", "--target", "contract"], "exactly two values"),
    ],
)
@pytest.mark.integration  # `environment` migrates a database
def test_bad_input_fails_with_a_clear_message(environment, capsys, args, message):
    _, tmp_path = environment
    export = churn_csv(tmp_path / "export.csv", rows=100)
    with pytest.raises(SystemExit) as exit_info:
        train_churn.main([a.replace("{export}", str(export)) for a in args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_csv_needs_a_target():
    with pytest.raises(SystemExit):
        train_churn.parse(["--csv", "x.csv"])
