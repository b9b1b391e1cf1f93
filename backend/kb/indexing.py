"""The knowledge index inside the app: opened and verified at start, kept in step with the database.

- `open_index(app)` (lifespan): loads `settings.kb_index_dir`, checks it against the published (article id,
  version) pairs in the database, and patches or rebuilds it (a missing, corrupt or stale index is repaired
  before the app serves). The embedding model then loads in a background thread, so the first search is fast;
  when the calibration uses the sentence features (the demo shop's, knowledge/calibration.py), the same
  thread then encodes the articles' sentences, which the index otherwise does on an article's first search.
- After every write the view calls `sync(ids)`: the articles are re-read and their chunks replaced (published)
  or dropped (draft, deleted) in memory before the response is sent, so a save is searchable at once.
- The files are written shortly after (`SAVE_DELAY_S`, several changes coalesce) and at shutdown, off the
  request path: at 100k chunks a save takes seconds. A crash before a save loses nothing, because the next
  start patches the index from the database.
- Other workers serving the same database learn of the change within `kb_sync_interval_s`: each compares
  the database's published versions with its index in a loop and patches the difference.

Embedding and FAISS work is CPU-bound and runs in worker threads (`asyncio.to_thread`), off the event loop.
"""

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.background import Background, Periodic, raise_if_cancelling, stop_all
from backend.core.config import Settings
from backend.kb import service
from backend.kb.models import Article
from knowledge.calibration import CALIBRATION, DEFAULT_PATH, Calibrator, with_threshold
from knowledge.embedder import get_embedder
from knowledge.rerank import configured_reranker
from knowledge.store import Document, KnowledgeIndex, OpenReport, SearchResult, verify_and_repair
from knowledge.store import open_index as open_files

log = logging.getLogger(__name__)
WARM_JOIN_S = 2.0
SAVE_DELAY_S = 0.5
# Above this many articles the sentences are encoded as searches first reach each article, not all at start.
WARM_SENTENCES_MAX = 5_000


class IndexUnavailable(Exception):
    pass


def document(article: Article) -> Document:
    return Document(article.id, article.version, article.title, article.body)


class KnowledgeRuntime:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self.index: KnowledgeIndex | None = None
        self.report = OpenReport(False, "not opened yet")
        self.error = ""
        self._write = asyncio.Lock()  # one index mutation at a time in this worker
        self._unsaved = asyncio.Event()
        # A save cancelled at shutdown goes on in its thread; the save at close must not write beside it.
        self._save_lock = threading.Lock()
        self._warming: list[threading.Thread] = []  # model load and sentence encoding, off the request path
        self._stop_warming = threading.Event()
        self.loops = (
            Periodic("kb-index-sync", self.sync_all, settings.kb_sync_interval_s),
            Background("kb-index-save", self._save_when_changed),
        )

    # ----- life cycle -----

    async def open(self) -> None:
        embedder = get_embedder(self.settings.kb_encoder_dir)
        calibrator = load_calibrator(self.settings)
        directory = self.settings.kb_index_dir
        reranker = configured_reranker(self.settings)  # KB_RERANKER_DIR; None (off) by default
        index, report = await asyncio.to_thread(open_files, directory, embedder, calibrator, None, reranker)
        async with self.sessions() as session:
            expected = await service.published_versions(session)
        plan = index.plan(expected)
        needed = sorted(expected) if (not report.loaded or plan.rebuild) else plan.upsert
        documents = await self._documents(needed)
        report = await asyncio.to_thread(verify_and_repair, index, report, expected, _picker(documents))
        self.index, self.report = index, report
        log.info("knowledge index %s (%s): %s", report.action, report.reason or "up to date", index.status())
        if not embedder.loaded or index.sentence_rerank:
            self._warm(index, "kb-embedder-load")
        for loop in self.loops:
            loop.start()

    async def close(self) -> None:
        await stop_all(self.loops)
        # The warm-up stops between two articles and is waited for: an interpreter that exits while torch
        # encodes in a daemon thread aborts (exit status 134), which scripts that open the runtime hit. The
        # wait is bounded, though: a model still loading on a busy machine must not hold up a shutdown
        # (a worker's rolling restart), so after WARM_JOIN_S the thread is left to finish on its own.
        self._stop_warming.set()
        for thread in self._warming:
            await asyncio.to_thread(thread.join, WARM_JOIN_S)
            if thread.is_alive():
                log.warning("knowledge warm-up %s still running at shutdown; not waiting longer", thread.name)
        self._warming.clear()
        if self.index is not None and self._unsaved.is_set():
            await asyncio.to_thread(self._save, self.index)

    # ----- keeping in step -----

    async def sync(self, article_ids: Sequence[int]) -> None:
        """Make the index match the database for these articles (upsert published, drop the rest)."""
        index = self._require()
        async with self._write:
            async with self.sessions() as session:
                published = await service.published_by_ids(session, article_ids)
            gone = [i for i in article_ids if i not in published]
            docs = [document(a) for a in published.values()]
            await asyncio.to_thread(_apply, index, docs, gone)
            self._unsaved.set()

    async def sync_all(self) -> int:
        """Patch whatever differs from the database (other workers' saves). Returns the articles changed."""
        index = self._require()
        async with self._write:
            async with self.sessions() as session:
                expected = await service.published_versions(session)
            plan = index.plan(expected)
            if plan.empty:
                return 0
            docs = await self._documents(plan.upsert)
            await asyncio.to_thread(_apply, index, [docs[i] for i in plan.upsert if i in docs], plan.remove)
            self._unsaved.set()
            return len(plan.upsert) + len(plan.remove)

    async def rebuild(self) -> dict[str, Any]:
        index = self._require()
        async with self._write:
            async with self.sessions() as session:
                expected = await service.published_versions(session)
            docs = await self._documents(sorted(expected))
            await asyncio.to_thread(index.rebuild, [docs[i] for i in sorted(docs)])
            self._unsaved.set()
        if index.sentence_rerank:  # a rebuild drops the sentence vectors: encode them off the request path
            self._warm(index, "kb-sentences")
        return index.status()

    async def search(self, query: str, k: int) -> SearchResult:
        return await asyncio.to_thread(self._require().search, query, k)

    def describe(self) -> dict[str, Any]:
        return {
            "available": self.index is not None,
            "detail": self.error or "ok",
            "status": self.index.status() if self.index is not None else {},
            "last_open": asdict(self.report),
        }

    def _warm(self, index: KnowledgeIndex, name: str) -> None:
        thread = threading.Thread(target=_warm_up, args=(index, self._stop_warming), name=name, daemon=True)
        self._warming = [t for t in self._warming if t.is_alive()] + [thread]
        thread.start()

    def _require(self) -> KnowledgeIndex:
        if self.index is None:
            raise IndexUnavailable(self.error or "the knowledge index is not open")
        return self.index

    async def _documents(self, ids: Sequence[int]) -> dict[int, Document]:
        async with self.sessions() as session:
            articles = await service.published_by_ids(session, ids)
        return {i: document(a) for i, a in articles.items()}

    async def _save_when_changed(self) -> None:
        while True:
            raise_if_cancelling()
            await self._unsaved.wait()
            await asyncio.sleep(SAVE_DELAY_S)
            self._unsaved.clear()
            try:
                await asyncio.to_thread(self._save, self._require())
            except Exception:  # a full disk must not stop the app; the next start repairs the files
                log.exception("could not save the knowledge index")

    def _save(self, index: KnowledgeIndex) -> None:
        with self._save_lock:
            index.save()


def load_calibrator(settings: Settings) -> Calibrator:
    """KB_CALIBRATION_PATH, else the fit saved with an adapted encoder (its scores differ), else the demo
    shop's fit of the base encoder (knowledge/calibration.json)."""
    with_encoder = settings.kb_encoder_dir / CALIBRATION if settings.kb_encoder_dir else None
    fallback = with_encoder if with_encoder is not None and with_encoder.is_file() else DEFAULT_PATH
    calibrator = Calibrator.load(settings.kb_calibration_path or fallback)
    if settings.kb_answer_threshold is not None:
        calibrator = with_threshold(calibrator, settings.kb_answer_threshold, calibrator.metrics)
    return calibrator


def _picker(documents: dict[int, Document]):  # noqa: ANN202 - the fetch callback of verify_and_repair
    return lambda ids: [documents[i] for i in ids if i in documents]


def _apply(index: KnowledgeIndex, upsert: list[Document], remove: Sequence[int]) -> None:
    index.remove(remove)
    index.upsert(upsert)
    if index.vectors.needs_compaction():
        index.compact()


def _warm_up(index: KnowledgeIndex, stop: threading.Event) -> None:
    try:
        index.embedder.load()
        if index.sentence_rerank and len(index.doc_versions) <= WARM_SENTENCES_MAX:
            index.warm_sentences(stop)
    except Exception:
        log.exception("could not load the embedding model or encode the articles' sentences")


async def open_index(app: FastAPI) -> None:
    """Lifespan hook: open, verify and repair the index. A failure is logged and search answers 503."""
    runtime = KnowledgeRuntime(app.state.sessions, app.state.settings)
    app.state.kb = runtime
    try:
        await runtime.open()
    except Exception as exc:
        runtime.error = f"knowledge index unavailable: {exc}"
        log.exception("could not open the knowledge index")


async def close_index(app: FastAPI) -> None:
    runtime: KnowledgeRuntime | None = getattr(app.state, "kb", None)
    if runtime is not None:
        await runtime.close()
