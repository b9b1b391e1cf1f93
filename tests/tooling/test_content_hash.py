from pathlib import Path

import pytest

from scripts import paths
from scripts.paths import content_hash


def test_hash_changes_with_content_and_not_with_order(tmp_path: Path):
    a, b = tmp_path / "a.yml", tmp_path / "b.yml"
    a.write_text("one")
    b.write_text("two")
    first = content_hash([a, b])
    assert content_hash([b, a]) == first
    assert content_hash([tmp_path]) == content_hash([tmp_path])
    b.write_text("three")
    assert content_hash([a, b]) != first


def test_missing_paths_are_ignored(tmp_path: Path):
    a = tmp_path / "a"
    a.write_text("x")
    assert content_hash([a, tmp_path / "missing"]) == content_hash([a])


def test_the_checkouts_place_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A file outside the checkout (the shared data beside it) hashes the same wherever the clone sits:
    the models cached by these keys are shared by every checkout of the machine."""
    shared = tmp_path / "shared" / "train.csv"
    shared.parent.mkdir()
    shared.write_text("text,label")
    keys = []
    for place in ("main", "wtbase"):  # one sorts before "shared", the other after
        root = tmp_path / place
        (root / "bot").mkdir(parents=True)
        (root / "bot" / "domain.yml").write_text("intents: []")
        monkeypatch.setattr(paths, "ROOT", root)
        keys.append(content_hash([root / "bot", shared]))
    assert keys[0] == keys[1]
