"""docs/benchmarks.md is written by several commands (`make bench`, `make chaos`): each owns one section
between its own markers and replaces only that, so one run never erases another's figures."""

import re
from pathlib import Path


def replace_section(doc: Path, name: str, body: str, title: str = "# Benchmarks") -> None:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = f"{start}\n{body.strip()}\n{end}"
    text = doc.read_text() if doc.exists() else f"{title}\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text.rstrip() + "\n")
