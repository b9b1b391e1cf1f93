"""Structure-aware Markdown chunking: sections by heading, blocks by paragraph, bounded size with overlap.

A chunk never mixes two sections, so its heading path says exactly where in the article it comes from, and
never splits a fenced code block or a table unless that block alone is over the size limit. Long sections are
packed block by block up to `max_chars`; the next chunk repeats the tail of the previous one (`overlap_chars`,
cut at a sentence or word boundary) so a sentence that straddles the cut is still found with its context.

The limit is in characters because the encoder (all-MiniLM-L6-v2) reads at most 256 word pieces: 800
characters of English prose are about 180-200 pieces, leaving room for the title and heading path that are
prefixed to every chunk before it is embedded.
"""

import re
from dataclasses import dataclass, field

HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
SETEXT = re.compile(r"^(=+|-+)[ \t]*$")
FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


@dataclass(frozen=True)
class ChunkerConfig:
    max_chars: int = 800
    overlap_chars: int = 150
    min_chars: int = 40  # a smaller trailing piece is merged into the previous chunk instead

    def __post_init__(self) -> None:
        if not 0 <= self.overlap_chars < self.max_chars // 2:
            raise ValueError("overlap_chars must be below half of max_chars")


@dataclass(frozen=True)
class Chunk:
    """One searchable piece of an article. `text` is plain text (Markdown markup removed)."""

    doc_id: int
    ordinal: int
    heading_path: tuple[str, ...]
    text: str
    title: str = ""

    def embedding_text(self) -> str:
        """What the encoder and BM25 see: the title and headings give a short paragraph its topic. A table
        stays as shown here: its rows name their columns in `sentences` only, since written so in the chunk's
        text too they made the shop's answer decision worse on its dev questions (docs/benchmarks.md)."""
        context = " > ".join(part for part in (self.title, *self.heading_path) if part)
        return f"{context}\n{self.text}" if context else self.text


@dataclass
class _Section:
    path: tuple[str, ...]
    blocks: list[str] = field(default_factory=list)


def chunk_markdown(doc_id: int, title: str, body: str, config: ChunkerConfig | None = None) -> list[Chunk]:
    """Split one article into chunks; an article with no text still yields one chunk (its title)."""
    config = config or ChunkerConfig()
    chunks: list[Chunk] = []
    for section in _sections(body, title):
        for text in _pack(section.blocks, config):
            chunks.append(Chunk(doc_id, len(chunks), section.path, text, title))
    if not chunks and title.strip():
        chunks.append(Chunk(doc_id, 0, (), title.strip(), title))
    return chunks


def _sections(body: str, title: str) -> list[_Section]:
    """Group blocks under their heading path. A leading H1 equal to the title is not repeated in paths."""
    sections = [_Section(())]
    stack: list[tuple[int, str]] = []
    for kind, value, level in _blocks(body):
        if kind == "heading":
            stack = [(lvl, text) for lvl, text in stack if lvl < level]
            if not (level == 1 and not stack and _same(value, title)):
                stack.append((level, value))
            sections.append(_Section(tuple(text for _, text in stack)))
        else:
            text = markdown_to_text(value) if kind == "text" else value
            if text.strip():
                sections[-1].blocks.append(text.strip())
    return [s for s in sections if s.blocks]


def _same(a: str, b: str) -> bool:
    return re.sub(r"\W+", " ", a).strip().lower() == re.sub(r"\W+", " ", b).strip().lower()


def _blocks(body: str) -> list[tuple[str, str, int]]:
    """(kind, text, heading level) for headings, paragraphs/lists/tables ("text") and code ("code")."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[tuple[str, str, int]] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(("text", "\n".join(paragraph), 0))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            flush()
            end = _fence_end(lines, i, fence.group(1))
            code = "\n".join(lines[i + 1 : end])
            blocks.append(("code", code, 0))
            i = end + 1
            continue
        heading = HEADING.match(line)
        if heading:
            flush()
            blocks.append(("heading", markdown_to_text(heading.group(2)), len(heading.group(1))))
        elif paragraph and len(paragraph) == 1 and SETEXT.match(line) and not _is_table_row(paragraph[0]):
            text = paragraph.pop()
            blocks.append(("heading", markdown_to_text(text), 1 if line.lstrip().startswith("=") else 2))
        elif not line.strip():
            flush()
        else:
            paragraph.append(line)
        i += 1
    flush()
    return blocks


def _fence_end(lines: list[str], start: int, marker: str) -> int:
    for j in range(start + 1, len(lines)):
        if lines[j].strip().startswith(marker[0] * len(marker)):
            return j
    return len(lines)  # an unclosed fence runs to the end, as CommonMark says


def _is_table_row(line: str) -> bool:
    return line.strip().startswith("|")


INLINE_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: keep the alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links: keep the link text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference links
    (re.compile(r"<(https?://[^>]+)>"), r"\1"),  # autolinks
    (re.compile(r"<[^>\n]+>"), " "),  # raw HTML tags
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])[*_]([^*_\n]+)[*_](?![\w*])"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE), ""),  # block quotes
    (re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+", re.MULTILINE), "- "),  # list markers, normalized
    (re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$", re.MULTILINE), ""),
    (re.compile(r"[ \t]*\|[ \t]*"), " | "),  # table cells
]


def markdown_to_text(markdown: str) -> str:
    """Markup out, words in: what a reader sees, which is what should be matched against questions."""
    text = markdown
    for pattern, replacement in INLINE_RULES:
        text = pattern.sub(replacement, text)
    lines = [re.sub(r"\s+", " ", line).strip(" |") for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _pack(blocks: list[str], config: ChunkerConfig) -> list[str]:
    """Greedy packing of whole blocks; an oversized block is split by sentences, then by words.

    Pieces of one block are joined by a space, blocks by a newline, so paragraphs stay visible in the text.
    """
    pieces = [(n, piece) for n, block in enumerate(blocks) for piece in _split_block(block, config.max_chars)]
    chunks: list[str] = []
    current, current_block = "", -1
    for block, piece in pieces:
        joint = " " if block == current_block and not _is_text_row(piece) else "\n"
        if current and len(current) + 1 + len(piece) > config.max_chars:
            chunks.append(current)
            # No overlap after a table: its rows run together in a tail would read as one mangled row.
            tail = "" if _is_text_row(current.rsplit("\n", 1)[-1]) else _tail(current, config.overlap_chars)
            fits = tail and len(tail) + 1 + len(piece) <= config.max_chars
            current = f"{tail}{joint}{piece}" if fits else piece
        else:
            current = f"{current}{joint}{piece}" if current else piece
        current_block = block
    if current:
        if (
            chunks
            and len(current) < config.min_chars
            and len(chunks[-1]) + 1 + len(current) <= (config.max_chars + config.min_chars)
        ):
            chunks[-1] = f"{chunks[-1]}\n{current}"
        else:
            chunks.append(current)
    return chunks


def _split_block(block: str, max_chars: int) -> list[str]:
    """A block that fits stays whole; a longer table becomes runs of rows under its header line, other
    text sentences (words for an endless sentence)."""
    if len(block) <= max_chars:
        return [block]
    lines = block.split("\n")
    if len(lines) > 2 and all(_is_text_row(line) for line in lines):
        return _split_table(lines, max_chars)
    pieces: list[str] = []
    for sentence in SENTENCE_END.split(block):
        if len(sentence) <= max_chars:
            pieces.append(sentence)
        else:
            pieces.extend(_split_words(sentence, max_chars))
    return pieces


def _split_table(lines: list[str], max_chars: int) -> list[str]:
    """Rows packed up to `max_chars`, each piece starting with the header line, so that every chunk of a
    long table still says what its columns are (a row longer than the limit is kept whole)."""
    header, pieces, current = lines[0], [], [lines[0]]
    for row in lines[1:]:
        if len(current) > 1 and sum(len(line) + 1 for line in current) + len(row) > max_chars:
            pieces.append("\n".join(current))
            current = [header]
        current.append(row)
    pieces.append("\n".join(current))
    return pieces


def _split_words(text: str, max_chars: int) -> list[str]:
    out: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > max_chars:  # one absurdly long "word" (a URL, a hash): cut it
            if current:
                out.append(current)
                current = ""
            out.append(word[:max_chars])
            word = word[max_chars:]
        if current and len(current) + 1 + len(word) > max_chars:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        out.append(current)
    return out


def _tail(text: str, limit: int) -> str:
    """The last whole sentences (else words) of `text` that fit in `limit` characters."""
    if limit <= 0:
        return ""
    sentences = SENTENCE_END.split(text.replace("\n", " "))
    tail = ""
    for sentence in reversed(sentences):
        candidate = f"{sentence} {tail}".strip()
        if len(candidate) > limit:
            break
        tail = candidate
    if tail:
        return tail
    words = text.split()
    tail = ""
    for word in reversed(words):
        candidate = f"{word} {tail}".strip()
        if len(candidate) > limit:
            break
        tail = candidate
    return tail


def _is_text_row(line: str) -> bool:
    """A table row once markup is out (`markdown_to_text` turns cell borders into " | ")."""
    return " | " in line


def _table_runs(text: str) -> list[tuple[bool, list[str]]]:
    """The text's lines grouped into (is a table, lines): a table is two or more consecutive rows with as
    many cells as the first, its header (blocks are joined by a newline, so a line with a "|" in the next
    paragraph would otherwise join the table); a lone row stays text."""
    runs: list[tuple[bool, list[str]]] = []
    for line in text.split("\n"):
        row = _is_text_row(line)
        cells = line.count(" | ")
        if runs and runs[-1][0] == row and (not row or runs[-1][1][0].count(" | ") == cells):
            runs[-1][1].append(line)
        else:
            runs.append((row, [line]))
    return [(row and len(lines) > 1, lines) for row, lines in runs]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split(" | ")]


def table_rows(lines: list[str]) -> list[str]:
    """Each row of a table (header line first) as a statement that names its columns, e.g. "Plan Plus —
    Monthly: $14.99; Yearly: $149": on its own a row ("Plus | $14.99 | $149") does not say what its
    numbers are, so its sentence vector could not match a question that names the columns."""
    header = _cells(lines[0])
    out = []
    for line in lines[1:]:
        cells = _cells(line)
        named = [f"{h}: {c}" if h else c for h, c in zip(header[1:], cells[1:], strict=False) if c]
        lead = f"{header[0]} {cells[0]}".strip() if header else cells[0]
        out.append(f"{lead} — {'; '.join(named)}" if named else lead)
    return out


def table_columns(lines: list[str]) -> list[str]:
    """Each column after the first as a statement across the rows, e.g. "Monthly — Plan Basic: $4.99; Plan
    Plus: $14.99": which row has what, for a question that compares the rows on one column."""
    header = _cells(lines[0])
    rows = [_cells(line) for line in lines[1:]]
    out = []
    for j, name in enumerate(header[1:], 1):
        cells = [f"{header[0]} {row[0]}: {row[j]}".strip() for row in rows if len(row) > j and row[j]]
        if cells:
            out.append(f"{name} — {'; '.join(cells)}")
    return out


MIN_SENTENCE_CHARS = 10  # shorter pieces ("Yes.", a lone price) say nothing without their neighbours
# A long sentence also yields windows of WINDOW_WORDS words every WINDOW_STRIDE words: a short question
# matches the clause that answers it better than the whole sentence (on the shop's dev questions the
# decision's cross-validated AUC went from 0.916 with whole sentences to 0.920).
WINDOW_WORDS = 10
WINDOW_STRIDE = 5


def sentences(chunk: Chunk) -> list[str]:
    """The chunk's sentences and table rows (and windows of its long sentences), each prefixed with the
    article's title so that a sentence like "It costs $4.99." keeps its topic: what `KnowledgeIndex` embeds
    for the sentence features. Prose lines are hard-wrapped in the articles, so they are joined before the
    text is cut at sentence ends. A table gives each row as a statement naming its columns (`table_rows`)
    under the section's headings, and the whole table as one more: a question comparing two rows ("the
    difference between basic and plus") is answered by the table, not by either row."""
    pieces: list[str] = []
    heading = " > ".join(chunk.heading_path)
    for table, lines in _table_runs(chunk.text):
        if not table:
            pieces.extend(_prose_pieces(lines))
            continue
        rows = [f"{heading}: {row}" if heading else row for row in table_rows(lines)]
        pieces.extend([*rows, ". ".join(rows), *table_columns(lines)] if len(rows) > 1 else rows)
    kept: list[str] = []
    for piece in (p.strip() for p in pieces):
        if len(piece) < MIN_SENTENCE_CHARS:
            continue
        kept.append(piece)
        words = piece.split()
        if len(words) > WINDOW_WORDS + 2:
            starts = range(0, len(words) - WINDOW_STRIDE, WINDOW_STRIDE)
            kept.extend(" ".join(words[i : i + WINDOW_WORDS]) for i in starts)
    return [f"{chunk.title}: {p}" if chunk.title else p for p in kept]


def _prose_pieces(lines: list[str]) -> list[str]:
    """Hard-wrapped lines joined, then cut at sentence ends; a lone row ("a | b") is a statement alone."""
    pieces: list[str] = []
    prose: list[str] = []
    for line in [*lines, ""]:
        if _is_text_row(line) or not line:
            pieces.extend(SENTENCE_END.split(" ".join(prose)) if prose else [])
            prose.clear()
            pieces.extend([line] if line else [])
        else:
            prose.append(line.strip())
    return pieces
