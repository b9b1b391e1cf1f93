"""Routes for the knowledge base: the admin API, search (staff and the action server), article pages.

Who may call what: search is for signed-in staff (agents' suggestions), the service search for the action
server (served by backend/service_api/views.py with `search_published`), every article and index route for
admins only; the admin's email is the actor in the audit log.
Every write commits first, then brings the index in step before answering, so a saved article is searchable
when the response arrives and a deleted one is gone from search by then.
"""

import re
from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt

from backend.auth.dependencies import AdminDep, current_staff
from backend.core import metrics
from backend.core.dependencies import SessionDep
from backend.core.errors import error_response
from backend.core.text import Text
from backend.kb import service
from backend.kb.indexing import IndexUnavailable, KnowledgeRuntime
from backend.kb.models import Article
from backend.kb.schemas import (
    ArticleIn,
    ArticleOut,
    ArticleUpdate,
    ImportOut,
    IndexStatusOut,
    PreviewIn,
    PreviewOut,
    SearchHitOut,
    SearchOut,
    VersionOut,
)
from knowledge.store import Hit, SearchResult

SNIPPET_CHARS = 320
INDEX_DOWN = error_response(503, "The knowledge index is not available (yet); the detail says why.")
MAX_UPLOAD_FILES = 200


async def current_editor(admin: AdminDep) -> str:
    """The signed-in admin who edits, as named in article versions and the audit log."""
    return admin.email


Editor = Annotated[str, Depends(current_editor)]

api_router = APIRouter(prefix="/api/v1/kb", tags=["knowledge"], dependencies=[Depends(current_staff)])
admin_router = APIRouter(
    prefix="/api/v1/kb", tags=["knowledge admin"], dependencies=[Depends(current_editor)]
)
page_router = APIRouter(include_in_schema=False)


def runtime(request: Request) -> KnowledgeRuntime:
    return request.app.state.kb


Runtime = Annotated[KnowledgeRuntime, Depends(runtime)]
Query_ = Annotated[Text, Query(min_length=1, max_length=2000, description="The question or search words.")]
K = Annotated[int, Query(ge=1, le=20, description="How many articles to return.")]


# ----- search -----


@api_router.get("/search", response_model=SearchOut, responses=INDEX_DOWN)
async def search(q: Query_, session: SessionDep, kb: Runtime, k: K = 5) -> SearchOut:
    """Published articles that answer `q`: best chunk per article, scores, confidence, `answerable`."""
    return await search_published(q, k, session, kb)


@admin_router.post("/preview", response_model=PreviewOut, responses=INDEX_DOWN)
async def preview(body: PreviewIn, session: SessionDep, kb: Runtime) -> PreviewOut:
    """What the bot would answer to this question, and whether it is sure enough to answer at all."""
    found = await search_published(body.question, body.k, session, kb)
    answer = found.results[0].snippet if found.answerable else None
    return PreviewOut(**found.model_dump(), answer=answer)


async def search_published(q: str, k: int, session: SessionDep, kb: KnowledgeRuntime) -> SearchOut:
    query = q.strip()
    if not query:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the query is empty")
    try:
        # A few extra results cover hits the database no longer publishes (another worker's delete).
        result = await kb.search(query, k + 5)
    except IndexUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    articles = await service.published_by_ids(session, [h.doc_id for h in result.hits])
    hits = [_hit_out(h, articles[h.doc_id], result) for h in result.hits if h.doc_id in articles][:k]
    answerable = bool(hits) and hits[0].answerable
    metrics.KB_SEARCHES.labels("answered" if answerable else "not_sure").inc()
    return SearchOut(query=query, threshold=result.threshold, answerable=answerable, results=hits)


def _hit_out(hit: Hit, article: Article, result: SearchResult) -> SearchHitOut:
    return SearchHitOut(
        slug=article.slug,
        title=article.title,
        url=article_url(article.slug),
        heading_path=list(hit.heading_path),
        snippet=snippet(hit.text),
        score=hit.fused,
        dense_score=hit.dense,
        bm25_score=hit.lexical,
        confidence=hit.confidence,
        answerable=hit.confidence >= result.threshold,
    )


TABLE_MAX_ROWS = 6  # header included: a table this small reads well in the widget's 360px bubble
TABLE_MAX_COLUMNS = 5


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The chunk as text a customer can read in a chat bubble: prose on one line, a small table as Markdown.

    A table of at most TABLE_MAX_ROWS rows and TABLE_MAX_COLUMNS columns that fits in `limit` keeps its rows
    as a Markdown pipe table on lines of its own, which the widget draws as a table (its Markdown subset); a
    bigger one is flattened into sentences ("Plus: $14.99, $149."), and prose is cut at `limit` with "…".
    """
    out = ""
    for table, value in _blocks(text):
        if table:
            rows = [cells for cells in value if isinstance(cells, list)]
            if len(rows) <= TABLE_MAX_ROWS and len(rows[0]) <= TABLE_MAX_COLUMNS:
                markdown = _markdown_table(rows)
                if len(out) + 1 + len(markdown) <= limit:
                    out = f"{out}\n{markdown}" if out else markdown
                    continue
            prose = " ".join(_flat_row(cells) for cells in rows)
        else:
            prose = str(value)
        # After a table, prose starts a line of its own so the table's last row stays a row.
        head = (out + ("\n" if out.endswith("|") else " ")) if out else ""
        if len(head) + len(prose) <= limit:
            out = head + prose
            continue
        kept = prose[: limit - len(head)].rsplit(" ", 1)[0] if limit > len(head) else ""
        return f"{head}{kept}…" if kept or not out.endswith("|") else f"{out}\n…"
    return out


TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}")
EMPHASIS = re.compile(r"(\*\*|__|`)")


def _blocks(markdown: str) -> list[tuple[bool, str | list[list[str]]]]:
    """(is_table, text) runs: prose lines joined by spaces, and tables as their rows of cells.

    A table row is a raw Markdown row ("| Plus | $14.99 |") or a chunk's row ("Plus | $14.99", as
    knowledge.chunking writes tables); two or more rows with the same number of cells are a table.
    """
    blocks: list[tuple[bool, str | list[list[str]]]] = []
    rows: list[list[str]] = []
    written: list[str] = []  # the rows' lines as they were

    def end_rows() -> None:
        if len(rows) > 1:
            blocks.append((True, list(rows)))
        elif rows:  # one row alone: a Markdown row reads as a sentence, a prose line with " | " stays itself
            add_prose(_flat_row(rows[0]) if written[0].startswith("|") else " ".join(written[0].split()))
        rows.clear()
        written.clear()

    def add_prose(line: str) -> None:
        if blocks and not blocks[-1][0]:
            blocks[-1] = (False, f"{blocks[-1][1]} {line}")
        else:
            blocks.append((False, line))

    for raw in markdown.splitlines():
        line = EMPHASIS.sub("", raw.strip())
        if not line or TABLE_RULE.match(line) or line.startswith("#"):  # headings: the answer names the title
            continue
        if line.startswith("|") or " | " in line:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) > 1:
                if rows and len(rows[0]) != len(cells):
                    end_rows()
                rows.append(cells)
                written.append(line)
                continue
        end_rows()
        add_prose(" ".join(line.split()))
    end_rows()
    return blocks


def _flat_row(cells: list[str]) -> str:
    """A table row as a sentence: "Plus: $14.99, $149."."""
    filled = [" ".join(c.split()) for c in cells if c.strip()]
    return f"{filled[0]}: {', '.join(filled[1:])}." if len(filled) > 1 else "".join(filled)


def _markdown_table(rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(" ".join(c.split()) for c in cells) + " |"

    return "\n".join([line(rows[0]), "|" + "---|" * len(rows[0]), *(line(r) for r in rows[1:])])


def article_url(slug: str) -> str:
    return f"/kb/{slug}"


# ----- admin: articles -----


@admin_router.get("/articles", response_model=list[ArticleOut])
async def list_articles(
    session: SessionDep,
    status_filter: Annotated[Literal["draft", "published"] | None, Query(alias="status")] = None,
) -> list[ArticleOut]:
    return [_out(a) for a in await service.list_articles(session, status_filter)]


@admin_router.post(
    "/articles",
    response_model=ArticleOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_response(409, "An article with this slug exists."),
)
async def create_article(body: ArticleIn, session: SessionDep, kb: Runtime, editor: Editor) -> ArticleOut:
    try:
        article = await service.create_article(session, body, editor)
    except service.SlugTaken as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    await _sync(kb, [article.id])
    return _out(article)


@admin_router.get("/articles/{slug}", response_model=ArticleOut)
async def get_article(slug: Text, session: SessionDep) -> ArticleOut:
    return _out(await _article(session, slug))


@admin_router.patch("/articles/{slug}", response_model=ArticleOut)
async def update_article(
    slug: Text, body: ArticleUpdate, session: SessionDep, kb: Runtime, editor: Editor
) -> ArticleOut:
    article = await service.update_article(session, await _article(session, slug), body, editor)
    await _sync(kb, [article.id])
    return _out(article)


@admin_router.post("/articles/{slug}/publish", response_model=ArticleOut)
async def publish(slug: Text, session: SessionDep, kb: Runtime, editor: Editor) -> ArticleOut:
    article = await service.set_status(session, await _article(session, slug), "published", editor)
    await _sync(kb, [article.id])
    return _out(article)


@admin_router.post("/articles/{slug}/unpublish", response_model=ArticleOut)
async def unpublish(slug: Text, session: SessionDep, kb: Runtime, editor: Editor) -> ArticleOut:
    article = await service.set_status(session, await _article(session, slug), "draft", editor)
    await _sync(kb, [article.id])
    return _out(article)


@admin_router.delete("/articles/{slug}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_article(slug: Text, session: SessionDep, kb: Runtime, editor: Editor) -> None:
    article_id = await service.delete_article(session, await _article(session, slug), editor)
    await _sync(kb, [article_id])


@admin_router.get("/articles/{slug}/versions", response_model=list[VersionOut])
async def list_versions(slug: Text, session: SessionDep) -> list[VersionOut]:
    article = await _article(session, slug)
    return [VersionOut.model_validate(v) for v in await service.list_versions(session, article)]


@admin_router.post("/import", response_model=ImportOut)
async def import_articles(
    files: Annotated[list[UploadFile], File(description="Markdown (.md), CSV or JSON files.")],
    session: SessionDep,
    kb: Runtime,
    editor: Editor,
    default_status: Annotated[Literal["draft", "published"], Form(alias="status")] = "draft",
) -> ImportOut:
    """Bulk import: a folder of Markdown files (one article each), CSV or JSON. All or nothing."""
    if len(files) > MAX_UPLOAD_FILES:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"at most {MAX_UPLOAD_FILES} files")
    try:
        items = []
        for upload in files:
            items.extend(
                service.parse_upload(upload.filename or "upload", await upload.read(), default_status)
            )
        result = await service.import_articles(session, items, editor)
    except service.ImportRejected as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.problems) from exc
    await _sync(kb, result.changed_ids)
    return ImportOut(created=result.created, updated=result.updated, unchanged=result.unchanged)


# ----- admin: the index -----


@admin_router.get("/index", response_model=IndexStatusOut)
async def index_status(kb: Runtime) -> IndexStatusOut:
    return IndexStatusOut(**kb.describe())


@admin_router.post("/index/rebuild", response_model=IndexStatusOut, responses=INDEX_DOWN)
async def rebuild_index(kb: Runtime) -> IndexStatusOut:
    """Re-chunk and re-embed every published article (after changing the model or chunking settings)."""
    try:
        await kb.rebuild()
    except IndexUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    return IndexStatusOut(**kb.describe())


async def _sync(kb: KnowledgeRuntime, ids: list[int]) -> None:
    # The database write is committed either way; an index that is down catches up when it next opens.
    try:
        await kb.sync(ids)
    except IndexUnavailable:
        return


async def _article(session: SessionDep, slug: str) -> Article:
    try:
        return await service.require(session, slug)
    except service.ArticleNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


def _out(article: Article) -> ArticleOut:
    return ArticleOut.model_validate(article).model_copy(update={"url": article_url(article.slug)})


# ----- the public article page -----

# CommonMark plus tables; raw HTML is off (escaped as text) and markdown-it checks link targets (it refuses
# javascript:, vbscript:, file: and non-image data: URLs), so an article's text cannot inject script.
markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")

PAGE = """<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Help centre</title><link rel="stylesheet" href="/static/pages.css"></head>
<body><main class="page article">
<p><a href="/">Help centre</a></p>
<article>
{body}
</article>
<p class="muted">Updated {updated}</p>
</main></body>
</html>
"""


@page_router.get("/kb/{slug}", response_class=HTMLResponse)
async def article_page(slug: Text, session: SessionDep) -> HTMLResponse:
    article = await service.get_by_slug(session, slug)
    if article is None or article.status != "published":
        page = PAGE.format(lang="en", title="Not found", body="<h1>Article not found</h1>", updated="-")
        return HTMLResponse(page, status_code=status.HTTP_404_NOT_FOUND, headers=SECURITY_HEADERS)
    body = markdown.render(article.body)
    if not article.body.lstrip().startswith("# "):
        body = f"<h1>{escape(article.title)}</h1>\n{body}"
    page = PAGE.format(
        lang=escape(article.locale),
        title=escape(article.title),
        body=body,
        updated=escape(article.updated_at.strftime("%Y-%m-%d")),
    )
    return HTMLResponse(page, headers=SECURITY_HEADERS)


# No script runs on an article page, so none is allowed: a second line of defence behind the escaping.
SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'"}

router = APIRouter()
for _sub in (api_router, admin_router, page_router):
    router.include_router(_sub)
