"""Knowledge-base articles: queries, edits with version history and audit, and bulk import.

Every write commits the article, its new `ArticleVersion` row and an audit event together. Keeping the search
index in step is the caller's next move (backend/kb/indexing.py), because the index follows the database,
never the other way round.
"""

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.core.database import utcnow
from backend.kb.models import Article, ArticleVersion
from backend.kb.schemas import ArticleIn, ArticleUpdate

MAX_IMPORT_ITEMS = 5000
CSV_COLUMNS = ("title", "body", "tags", "status", "locale", "slug")
FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
H1 = re.compile(r"^#[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


class ArticleNotFound(Exception):
    pass


class SlugTaken(Exception):
    pass


class ImportRejected(Exception):
    """An import file that cannot be read; `problems` lists each one (file, item and what is wrong)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:20]))
        self.problems = problems


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)


# ----- reads -----


async def list_articles(session: AsyncSession, status: str | None) -> list[Article]:
    query = select(Article).order_by(Article.title)
    if status is not None:
        query = query.where(Article.status == status)
    return list((await session.execute(query)).scalars())


async def get_by_slug(session: AsyncSession, slug: str) -> Article | None:
    return (await session.execute(select(Article).where(Article.slug == slug))).scalar_one_or_none()


async def require(session: AsyncSession, slug: str) -> Article:
    article = await get_by_slug(session, slug)
    if article is None:
        raise ArticleNotFound(f"no article {slug!r}")
    return article


async def list_versions(session: AsyncSession, article: Article) -> list[ArticleVersion]:
    query = (
        select(ArticleVersion)
        .where(ArticleVersion.article_id == article.id)
        .order_by(ArticleVersion.version.desc())
    )
    return list((await session.execute(query)).scalars())


async def published_versions(session: AsyncSession) -> dict[int, int]:
    """The source of truth the index is verified against: published article id -> version."""
    query = select(Article.id, Article.version).where(Article.status == "published")
    return {row.id: row.version for row in await session.execute(query)}


async def published_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Article]:
    if not ids:
        return {}
    query = select(Article).where(Article.id.in_(list(ids)), Article.status == "published")
    return {a.id: a for a in (await session.execute(query)).scalars()}


async def articles_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Article]:
    if not ids:
        return {}
    return {
        a.id: a for a in (await session.execute(select(Article).where(Article.id.in_(list(ids))))).scalars()
    }


# ----- writes -----


async def create_article(session: AsyncSession, data: ArticleIn, actor: str) -> Article:
    slug = data.slug or await _free_slug(session, slugify(data.title))
    if await get_by_slug(session, slug) is not None:
        raise SlugTaken(f"the slug {slug!r} is taken")
    article = _new_article(data, slug, actor)
    session.add(article)
    await session.flush()
    _add_version(session, article, actor)
    audit.record(session, actor, "kb.article.create", "kb_article", article.id, after=snapshot(article))
    await session.commit()
    return article


async def update_article(session: AsyncSession, article: Article, data: ArticleUpdate, actor: str) -> Article:
    """Apply the given fields; a real change makes a new version (no-op edits make none)."""
    changes = {k: v for k, v in data.model_dump(exclude_none=True).items() if getattr(article, k) != v}
    if not changes:
        return article
    action = "kb.article.update"
    if set(changes) == {"status"}:
        action = "kb.article.publish" if changes["status"] == "published" else "kb.article.unpublish"
    before = snapshot(article)
    for key, value in changes.items():
        setattr(article, key, value)
    article.version += 1
    article.updated_at = utcnow()
    _add_version(session, article, actor)
    audit.record(session, actor, action, "kb_article", article.id, before, snapshot(article))
    await session.commit()
    return article


async def set_status(session: AsyncSession, article: Article, status: str, actor: str) -> Article:
    return await update_article(session, article, ArticleUpdate(status=status), actor)


async def delete_article(session: AsyncSession, article: Article, actor: str) -> int:
    """Delete the article and (by cascade) its versions; the audit event keeps what it was."""
    article_id = article.id
    audit.record(session, actor, "kb.article.delete", "kb_article", article_id, before=snapshot(article))
    await session.delete(article)
    await session.commit()
    return article_id


async def import_articles(session: AsyncSession, items: Sequence[ArticleIn], actor: str) -> ImportResult:
    """Create or update (matched by slug) every item in one transaction: all of them or none.

    An item without a slug gets one from its title; two such items with the same title in one import get
    `-2`, `-3`... so re-importing the same file updates the same articles.
    """
    if len(items) > MAX_IMPORT_ITEMS:
        raise ImportRejected([f"at most {MAX_IMPORT_ITEMS} articles per import, got {len(items)}"])
    existing = {a.slug: a for a in (await session.execute(select(Article))).scalars()}
    result = ImportResult()
    used: set[str] = set()
    touched: list[Article] = []
    for item in items:
        slug = item.slug or _unique(slugify(item.title), used)
        if slug in used and item.slug:
            raise ImportRejected([f"the slug {slug!r} appears twice in this import"])
        used.add(slug)
        article = existing.get(slug)
        if article is None:
            article = _new_article(item, slug, actor)
            session.add(article)
            result.created.append(slug)
            touched.append(article)
        elif _differs(article, item):
            _overwrite(article, item, actor)
            result.updated.append(slug)
            touched.append(article)
        else:
            result.unchanged.append(slug)
    await session.flush()
    for article in touched:
        _add_version(session, article, actor)
        action = "kb.article.create" if article.version == 1 else "kb.article.update"
        audit.record(session, actor, action, "kb_article", article.id, after=snapshot(article))
    summary = {
        "created": len(result.created),
        "updated": len(result.updated),
        "unchanged": len(result.unchanged),
    }
    audit.record(session, actor, "kb.import", "kb_article", "*", after=summary)
    await session.commit()
    result.changed_ids = [a.id for a in touched]
    return result


def snapshot(article: Article) -> dict[str, Any]:
    """What the audit trail keeps of an article: the body as size and hash (versions keep the text)."""
    return {
        "slug": article.slug,
        "title": article.title,
        "status": article.status,
        "version": article.version,
        "tags": list(article.tags),
        "locale": article.locale,
        "body_chars": len(article.body),
        "body_sha256": hashlib.sha256(article.body.encode()).hexdigest()[:16],
    }


def _new_article(data: ArticleIn, slug: str, actor: str) -> Article:
    now = utcnow()
    return Article(
        slug=slug,
        title=data.title,
        body=data.body,
        tags=list(data.tags),
        locale=data.locale,
        status=data.status,
        version=1,
        author=actor,
        created_at=now,
        updated_at=now,
    )


def _differs(article: Article, item: ArticleIn) -> bool:
    return (article.title, article.body, list(article.tags), article.locale, article.status) != (
        item.title,
        item.body,
        list(item.tags),
        item.locale,
        item.status,
    )


def _overwrite(article: Article, item: ArticleIn, actor: str) -> None:
    article.title, article.body, article.tags = item.title, item.body, list(item.tags)
    article.locale, article.status = item.locale, item.status
    article.version += 1
    article.updated_at = utcnow()


def _add_version(session: AsyncSession, article: Article, actor: str) -> None:
    """The article as saved now; `author` is who saved this version (the article keeps its creator)."""
    session.add(
        ArticleVersion(
            article_id=article.id,
            version=article.version,
            title=article.title,
            body=article.body,
            tags=list(article.tags),
            status=article.status,
            author=actor,
            created_at=article.updated_at,
        )
    )


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-")
    return slug or "article"


async def _free_slug(session: AsyncSession, base: str) -> str:
    taken = set((await session.execute(select(Article.slug).where(Article.slug.like(f"{base}%")))).scalars())
    return _unique(base, taken)


def _unique(base: str, taken: set[str]) -> str:
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


# ----- import formats -----


def parse_upload(filename: str, content: bytes, default_status: str = "draft") -> list[ArticleIn]:
    """Articles from one uploaded file, by extension: .md/.markdown (one article), .csv or .json (many)."""
    suffix = PurePosixPath(filename).suffix.lower()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected([f"{filename}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
    if suffix in (".md", ".markdown"):
        return [_validated(filename, 1, _markdown_item(filename, text, default_status))]
    if suffix == ".csv":
        rows = _csv_rows(filename, text)
    elif suffix == ".json":
        rows = _json_rows(filename, text)
    else:
        raise ImportRejected([f"{filename}: use .md, .markdown, .csv or .json files"])
    return [_validated(filename, n, {"status": default_status, **row}) for n, row in enumerate(rows, 1)]


def _validated(filename: str, number: int, raw: dict[str, Any]) -> ArticleIn:
    try:
        return ArticleIn.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{filename}: item {number}: {'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}"
            for e in exc.errors()
        ]
        raise ImportRejected(problems) from exc


def _markdown_item(filename: str, text: str, default_status: str) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    match = FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise ImportRejected([f"{filename}: front matter is not valid YAML: {exc}"]) from exc
        if not isinstance(loaded, dict):
            raise ImportRejected([f"{filename}: front matter must be key: value lines"])
        meta, text = loaded, text[match.end() :]
    unknown = set(meta) - set(CSV_COLUMNS)
    if unknown:
        raise ImportRejected([f"{filename}: unknown front matter keys {sorted(unknown)}"])
    heading = H1.search(text)
    stem = PurePosixPath(filename).stem
    title = meta.get("title") or (heading.group(1) if heading else stem.replace("-", " ").replace("_", " "))
    tags = meta.get("tags", [])
    return {
        "status": default_status,
        "slug": slugify(stem),
        **meta,
        "title": str(title),
        "body": text.strip("\n"),
        "tags": _split_tags(tags) if isinstance(tags, str) else tags,
    }


def _csv_rows(filename: str, text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "title" not in header:
        raise ImportRejected([f"{filename}: the first line must name the columns, including title"])
    unknown = set(header) - set(CSV_COLUMNS)
    if unknown:
        raise ImportRejected([f"{filename}: unknown columns {sorted(unknown)}; use {', '.join(CSV_COLUMNS)}"])
    rows = []
    try:
        for raw in reader:
            row = {k.strip().lower(): (v or "") for k, v in raw.items() if k is not None}
            if None in raw:
                raise ImportRejected([f"{filename}: line {reader.line_num} has more cells than columns"])
            if "tags" in row:
                row["tags"] = _split_tags(row["tags"])
            rows.append({k: v for k, v in row.items() if v != "" or k in ("body", "tags")})
    except csv.Error as exc:
        raise ImportRejected([f"{filename}: line {reader.line_num}: {exc}"]) from exc
    return rows


def _json_rows(filename: str, text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRejected([f"{filename}: not valid JSON: {exc}"]) from exc
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ImportRejected([f'{filename}: expected a list of article objects (or {{"articles": [...]}})'])
    return data


def _split_tags(value: str) -> list[str]:
    return [t.strip() for t in re.split(r"[,;|]", value) if t.strip()]
