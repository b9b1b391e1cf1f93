from pathlib import Path

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
