"""Knowledge-base bodies: articles in and out, versions, imports, search results and the answer preview."""

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from backend.core.text import TEXT

MAX_BODY_CHARS = 100_000
MAX_TAGS = 20
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# TEXT last, outside the constraints (backend/core/text.py says why).
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), TEXT]
Body = Annotated[str, StringConstraints(max_length=MAX_BODY_CHARS), TEXT]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), TEXT]
Locale = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z]{2}(-[A-Z]{2})?$"), TEXT]
Status = Literal["draft", "published"]


def _clean_tags(tags: list[str]) -> list[str]:
    # Lower-case and de-duplicated, first spelling wins: tags are filters, not prose.
    return list(dict.fromkeys(t.lower() for t in tags))


class ArticleIn(BaseModel):
    """A new article; the slug is made from the title when not given."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body = ""
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = []
    locale: Locale = "en"
    status: Status = "draft"
    slug: Annotated[str, StringConstraints(max_length=200), TEXT] | None = None

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and not SLUG.match(value):
            raise ValueError("a slug is lower-case letters and digits separated by single hyphens")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return _clean_tags(value)


class ArticleUpdate(BaseModel):
    """An edit: only the fields given change. The slug never changes, so published links keep working."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] | None = None
    locale: Locale | None = None
    status: Status | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_tags(value)


class ArticleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    title: str
    body: str
    tags: list[str]
    locale: str
    status: str
    version: int
    author: str
    updated_at: datetime
    url: str = ""


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    title: str
    body: str
    tags: list[str]
    status: str
    author: str
    created_at: datetime


class ImportOut(BaseModel):
    created: list[str]
    updated: list[str]
    unchanged: list[str]


class SearchHitOut(BaseModel):
    slug: str
    title: str
    url: str
    heading_path: list[str]
    snippet: str
    score: float = Field(description="Reciprocal-rank-fusion score of dense and BM25 retrieval.")
    dense_score: float | None = Field(description="Cosine similarity of the best chunk (None: BM25 only).")
    bm25_score: float | None = Field(description="BM25 score of the best chunk (None: dense only).")
    confidence: float = Field(description="Calibrated probability that this article answers the question.")
    answerable: bool = Field(description="Confidence at or above the threshold.")


class SearchOut(BaseModel):
    query: str
    threshold: float
    answerable: bool = Field(description="The top result is confident enough for the bot to answer with it.")
    results: list[SearchHitOut]


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), TEXT]
    k: int = Field(default=5, ge=1, le=20)


class PreviewOut(SearchOut):
    answer: str | None = Field(description="What the bot would say: the top snippet, or None when not sure.")


class IndexStatusOut(BaseModel):
    available: bool
    detail: str
    status: dict[str, object]
    last_open: dict[str, object]
