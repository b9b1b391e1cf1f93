"""Settings grouped per domain: each field in exactly one group, the flat environment names unchanged, every
variable of the README's configuration table a real setting (and every setting in the table)."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from backend.core.config import RateLimitSettings, Settings, SettingsGroup
from nlu.settings import BotSettings
from scripts.paths import ROOT

GROUPS = [base for base in Settings.__bases__ if issubclass(base, BaseSettings)]
# The Rasa side's variables, read by nlu/settings.py: a value for each, and the BotSettings field it sets.
BOT_VARIABLES = {
    "BACKEND_URL": ("http://backend:8000/", "backend_url", "http://backend:8000"),
    "SERVICE_TOKEN": ("token", "service_token", "token"),
    "SUPPORTDESK_ENCODER_DIR": ("/e", "encoder_dir", Path("/e")),
    "SUPPORTDESK_ENCODER_THREADS": ("0", "encoder_threads", 0),
    "SUPPORTDESK_CACHE": ("/c", "cache_dir", Path("/c")),
    "SUPPORTDESK_SHARED_DATA": ("/d", "shared_data_dir", Path("/d")),
    "ACTIONS_METRICS_PORT": ("9105", "actions_metrics_port", 9105),
    "LOG_FORMAT": ("json", "log_format", "json"),
    "ACTIONS_BACKEND_TIMEOUT_S": ("12.5", "backend_timeout_s", 12.5),
}


def readme_variables() -> list[str]:
    """The variables of the configuration table, in order; in a cell, `_CHURN` after
    `PRIORITY_WEIGHT_ESCALATION` stands for PRIORITY_WEIGHT_CHURN."""
    section = (ROOT / "README.md").read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names = []
    for row in section.splitlines():
        if not row.startswith("| `"):
            continue
        previous = ""
        for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1]):
            if name.startswith("_"):
                name = previous.rsplit("_", 1)[0] + name
            names.append(name)
            previous = name
    return names


def test_the_groups_are_the_domains_settings_combines() -> None:
    assert len(GROUPS) >= 10
    for group in GROUPS:
        assert issubclass(group, SettingsGroup), f"{group.__name__} must read .env like the others"
        assert group.__name__.endswith("Settings") and group.__doc__


def test_each_field_belongs_to_exactly_one_group() -> None:
    owners: dict[str, list[str]] = {}
    for group in GROUPS:
        for name in group.model_fields:
            owners.setdefault(name, []).append(group.__name__)
    shared = {name: groups for name, groups in owners.items() if len(groups) > 1}
    assert not shared
    assert set(owners) == set(Settings.model_fields), "Settings declares fields of its own"


def test_every_readme_variable_is_a_setting() -> None:
    names = readme_variables()
    assert len(names) >= 40, "the configuration table was not found"
    assert len(names) == len(set(names)), "a variable is listed twice"
    assert not [n for n in names if n.lower() not in Settings.model_fields and n not in BOT_VARIABLES]


def test_every_setting_is_in_the_readme() -> None:
    documented = set(readme_variables())
    assert not [name.upper() for name in Settings.model_fields if name.upper() not in documented]
    section = (ROOT / "README.md").read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    assert set(BOT_VARIABLES) <= set(re.findall(r"`([A-Z_]+)`", section))


@pytest.mark.parametrize(("variable", "case"), BOT_VARIABLES.items())
def test_the_bot_side_variables_are_read_by_nlu_settings(variable: str, case: tuple) -> None:
    value, field, expected = case
    default = BotSettings.from_environ({})
    assert getattr(BotSettings.from_environ({variable: value}), field) == expected != getattr(default, field)


def test_fields_keep_their_flat_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTING_INTERVAL_S", "7.5")
    monkeypatch.setenv("KB_EMBED_THREADS", "3")
    monkeypatch.setenv("RASA_URL", "http://rasa:5005/")
    settings = Settings()
    assert (settings.routing_interval_s, settings.kb_embed_threads) == (7.5, 3)
    assert settings.rasa_url == "http://rasa:5005"  # its group's validator ran


def test_a_group_alone_reads_the_same_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("RATE_LIMIT_LOGINS_PER_IP=5/minute\nMAX_MESSAGE_CHARS=300\n")
    group = RateLimitSettings()
    assert (group.rate_limit_logins_per_ip, group.max_message_chars) == ("5/minute", 300)
    assert Settings().rate_limit_logins_per_ip == "5/minute"
    monkeypatch.setenv("RATE_LIMIT_LOGINS_PER_IP", "often")
    with pytest.raises(ValidationError, match="rate_limit_logins_per_ip"):
        Settings()


def test_descriptions_and_constraints_survive_the_grouping() -> None:
    field = Settings.model_fields["accept_timeout_s"]
    assert field.description and any(getattr(m, "gt", None) == 0 for m in field.metadata)
    with pytest.raises(ValidationError, match="accept_timeout_s"):
        Settings(accept_timeout_s=0)


@pytest.mark.parametrize("value", ["soon", "0", "-1", "inf", "nan"])
def test_a_malformed_backend_timeout_stops_the_action_server_naming_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="ACTIONS_BACKEND_TIMEOUT_S"):
        BotSettings.from_environ({"ACTIONS_BACKEND_TIMEOUT_S": value})


def test_the_telco_csv_follows_the_shared_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One variable moves both sides to the public data (a clone outside /work failed the churn tests when
    only the Rasa side followed it); RISK_TELCO_CSV, when given, still wins."""
    monkeypatch.delenv("RISK_TELCO_CSV", raising=False)
    monkeypatch.setenv("SUPPORTDESK_SHARED_DATA", str(tmp_path / "data"))
    assert Settings().risk_telco_csv == tmp_path / "data" / "telco_churn" / "telco_customer_churn.csv"
    monkeypatch.setenv("RISK_TELCO_CSV", str(tmp_path / "mine.csv"))
    assert Settings().risk_telco_csv == tmp_path / "mine.csv"
    monkeypatch.delenv("SUPPORTDESK_SHARED_DATA")
    monkeypatch.delenv("RISK_TELCO_CSV")
    default = ROOT.parent / "shared" / "data" / "telco_churn" / "telco_customer_churn.csv"
    assert Settings().risk_telco_csv == default
