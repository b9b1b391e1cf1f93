"""Structure-aware chunking: heading paths, whole blocks, bounded size with overlap."""

import itertools

from backend.seed_articles import ARTICLES
from knowledge.chunking import ChunkerConfig, chunk_markdown, markdown_to_text, sentences

ARTICLE = """# Returns and refunds

You can return any item within **30 days**.

## How to start a return
Go to [your orders](https://example.com/orders) and select *Return items*.

### Labels
Print the prepaid label.

## When the money arrives
Refunds take 5 business days.
"""


def test_sections_carry_their_heading_path_and_the_title_h1_is_not_repeated():
    chunks = chunk_markdown(7, "Returns and refunds", ARTICLE)
    assert [(c.heading_path, c.text) for c in chunks] == [
        ((), "You can return any item within 30 days."),
        (("How to start a return",), "Go to your orders and select Return items."),
        (("How to start a return", "Labels"), "Print the prepaid label."),
        (("When the money arrives",), "Refunds take 5 business days."),
    ]
    assert all(c.doc_id == 7 for c in chunks)
    assert [c.ordinal for c in chunks] == [0, 1, 2, 3]
    assert (
        chunks[2].embedding_text()
        == "Returns and refunds > How to start a return > Labels\nPrint the prepaid label."
    )


def test_a_hash_inside_a_code_fence_is_not_a_heading_and_the_block_stays_whole():
    body = "## Setup\nRun this:\n\n```bash\n# not a heading\nmake run\n```\n\nDone."
    chunks = chunk_markdown(1, "Guide", body)
    assert len(chunks) == 1
    assert chunks[0].heading_path == ("Setup",)
    assert "# not a heading\nmake run" in chunks[0].text


def test_setext_headings_are_headings():
    chunks = chunk_markdown(1, "T", "Billing\n=======\nPay by card.\n\nCards\n-----\nVisa and Mastercard.")
    assert [c.heading_path for c in chunks] == [("Billing",), ("Billing", "Cards")]


def test_long_sections_are_split_within_the_limit_with_overlap():
    sentences = [f"Sentence number {i} talks about parcel {i} and its delivery window." for i in range(60)]
    config = ChunkerConfig(max_chars=400, overlap_chars=120)
    chunks = chunk_markdown(1, "Long", "## Part\n" + " ".join(sentences), config)
    assert len(chunks) > 3
    assert all(len(c.text) <= config.max_chars for c in chunks)
    assert all(c.heading_path == ("Part",) for c in chunks)
    for previous, current in itertools.pairwise(chunks):
        last_sentence = previous.text.split(". ")[-1].rstrip(".")
        assert last_sentence in current.text  # the cut sentence is repeated at the start of the next chunk
    joined = " ".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)  # nothing lost


def test_a_table_stays_in_one_chunk_as_text():
    body = "| Plan | Price |\n|---|---|\n| Basic | $4.99 |\n| Plus | $14.99 |"
    (chunk,) = chunk_markdown(1, "Plans", body)
    assert chunk.text == "Plan | Price\nBasic | $4.99\nPlus | $14.99"


PLANS = (
    "## Prices\n| Plan | Monthly | What you get |\n|---|---|---|\n| Basic | $4.99 | Member prices |\n"
    "| Plus | $14.99 | Free returns |\n\nPrices include tax | where it applies."
)


def test_table_rows_name_their_columns_in_the_sentences_but_are_shown_and_embedded_as_written():
    (chunk,) = chunk_markdown(1, "Plans", PLANS)
    assert chunk.text.splitlines()[:3] == [
        "Plan | Monthly | What you get",
        "Basic | $4.99 | Member prices",
        "Plus | $14.99 | Free returns",
    ]
    assert chunk.embedding_text() == f"Plans > Prices\n{chunk.text}"  # the chunk's vector and BM25: as shown
    found = sentences(chunk)
    assert "Plans: Prices: Plan Plus — Monthly: $14.99; What you get: Free returns" in found  # heading, row
    assert "Plans: Monthly — Plan Basic: $4.99; Plan Plus: $14.99" in found  # a column across the rows
    whole = "Plans: Prices: Plan Basic — Monthly: $4.99; What you get: Member prices. Prices: Plan Plus"
    assert any(s.startswith(whole) for s in found)  # the whole table, for a question comparing rows
    assert "Plans: Plan | Monthly | What you get" not in found  # the header line says nothing alone
    # A line with a "|" in the next paragraph has another number of cells: not a row of the table.
    assert "Plans: Prices include tax | where it applies." in found
    assert not any("Plan Prices include tax" in s for s in found)


def test_the_seeded_plans_table_says_which_plan_each_price_is():
    body = next(body for slug, _, _, body in ARTICLES if slug == "plans-and-pricing")
    found = sentences(chunk_markdown(1, "Subscription plans and pricing", body)[0])
    row = "Plan Plus — Monthly: $14.99; Yearly: $149; What you get: Free express shipping, free returns"
    assert f"Subscription plans and pricing: {row}" in found
    assert not any("Plus | $14.99" in s for s in found)


def test_an_oversized_table_is_cut_between_rows_each_piece_under_its_header():
    rows = "\n".join(f"| Item {n} | {n} days | Sent from warehouse number {n} |" for n in range(40))
    body = f"| Item | Time | Where |\n|---|---|---|\n{rows}\n\nAfter the table, prose."
    chunks = chunk_markdown(1, "Times", body, ChunkerConfig(max_chars=300, overlap_chars=50))
    tables = [c for c in chunks if " | " in c.text]
    assert len(tables) > 3 and all(c.text.startswith("Item | Time | Where\n") for c in tables)
    lines = [line for c in tables for line in c.text.splitlines() if line != "Item | Time | Where"]
    assert [line for line in lines if " | " in line] == [
        f"Item {n} | {n} days | Sent from warehouse number {n}" for n in range(40)
    ]  # every row once, whole, in order: no overlap of rows run together
    last = "Times: Item Item 39 — Time: 39 days; Where: Sent from warehouse number 39"
    assert last in sentences(tables[-1])  # the last piece's rows still name their columns


def test_an_empty_body_still_yields_the_title_and_a_giant_word_is_cut():
    assert [c.text for c in chunk_markdown(3, "Only a title", "")] == ["Only a title"]
    chunks = chunk_markdown(3, "T", "x" * 2000, ChunkerConfig(max_chars=500, overlap_chars=50))
    assert all(len(c.text) <= 500 for c in chunks) and "".join(c.text for c in chunks).count("x") >= 2000


def test_markup_is_removed_but_words_are_kept():
    text = markdown_to_text(
        "Open **Account > Orders**, see `code`, ![logo](x.png) <b>bold</b> ~~old~~ > quote"
    )
    assert text == "Open Account > Orders, see code, logo bold old > quote"


def test_every_seeded_article_is_fully_covered_within_the_limit():
    config = ChunkerConfig()
    for n, (_, title, _, body) in enumerate(ARTICLES, 1):
        chunks = chunk_markdown(n, title, body, config)
        assert chunks and all(len(c.text) <= config.max_chars + config.min_chars for c in chunks)
        words = set(" ".join(f"{' '.join(c.heading_path)} {c.text}" for c in chunks).split())
        assert set(markdown_to_text(body).split()) - {"#", "##", "###"} <= words | set(title.split())
