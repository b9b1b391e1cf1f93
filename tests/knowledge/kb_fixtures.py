"""Shared helpers of the knowledge tests: one loaded embedding model per process and the seeded articles.

Plain functions, imported by the test modules: a conftest.py (or __init__.py) in this folder would make
pytest's default prepend import mode load this folder as a package named `knowledge`, shadowing the library.
"""

from functools import cache
from pathlib import Path

from backend.seed_articles import ARTICLES
from knowledge.calibration import Calibrator
from knowledge.embedder import SentenceEmbedder, get_embedder
from knowledge.store import Document, KnowledgeIndex


def embedder() -> SentenceEmbedder:
    shared = get_embedder()  # cached for the whole process: loading takes seconds
    shared.load()
    return shared


@cache
def calibrator() -> Calibrator:
    return Calibrator.load()


def seed_documents() -> list[Document]:
    return [Document(n, 1, title, body) for n, (_, title, _, body) in enumerate(ARTICLES, 1)]


def seeded_index(directory: Path) -> KnowledgeIndex:
    built = KnowledgeIndex(embedder(), calibrator(), directory=directory)
    built.rebuild(seed_documents())
    return built


def slug_of(doc_id: int) -> str:
    return ARTICLES[doc_id - 1][0]
