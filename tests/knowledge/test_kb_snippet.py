"""The KB snippet the bot answers with: prose on one line, a small table kept as Markdown rows."""

from backend.kb.views import TABLE_MAX_ROWS, snippet
from backend.seed_articles import ARTICLES
from knowledge.chunking import chunk_markdown

PLANS = next(article for article in ARTICLES if article[0] == "plans-and-pricing")


def plans_chunk() -> str:
    [chunk] = [c for c in chunk_markdown(1, PLANS[1], PLANS[3]) if "$14.99" in c.text]
    return chunk.text


def test_the_plans_table_reaches_the_answer_as_markdown_rows() -> None:
    lines = snippet(plans_chunk()).splitlines()
    assert lines[:3] == ["| Plan | Monthly | Yearly | What you get |", "|---|---|---|---|", lines[2]]
    assert "| Plus | $14.99 | $149 | Free express shipping, free returns |" in lines
    assert lines[-1].startswith("Yearly plans cost")  # the prose after the table: a line of its own
    assert len("\n".join(lines)) <= 320


def test_prose_is_one_line_cut_at_the_limit() -> None:
    text = "Returns are free within 30 days.\nStart one from **your orders** page. " + "More words. " * 40
    flat = snippet(text)
    assert "\n" not in flat and "**" not in flat and flat.endswith("…") and len(flat) <= 321
    assert flat.startswith("Returns are free within 30 days. Start one from your orders page.")


def test_a_big_table_is_flattened_into_sentences() -> None:
    rows = [f"Plan{i} | ${i}.99 | ${i}9" for i in range(TABLE_MAX_ROWS + 1)]
    flat = snippet("Plan | Monthly | Yearly\n" + "\n".join(rows))
    assert "|" not in flat and "\n" not in flat
    assert "Plan1: $1.99, $19." in flat


def test_a_wide_table_and_a_raw_markdown_row_are_flattened() -> None:
    wide = "| a | b | c | d | e | f |\n|---|---|---|---|---|---|\n| 1 | 2 | 3 | 4 | 5 | 6 |"
    assert snippet(wide) == "a: b, c, d, e, f. 1: 2, 3, 4, 5, 6."
    assert snippet("| Plus | $14.99 | $149 |") == "Plus: $14.99, $149."


def test_a_table_that_does_not_fit_the_limit_is_flattened() -> None:
    assert "|" not in snippet(plans_chunk(), limit=120)


def test_a_prose_line_with_a_pipe_is_left_alone() -> None:
    assert snippet("Open Settings | Account to change it.") == "Open Settings | Account to change it."
