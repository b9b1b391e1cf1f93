"""aiosqlite connections that cross to their thread once per statement, for SQLAlchemy's aiosqlite dialect.

Why: aiosqlite runs each sqlite3 call in the connection's own thread and hands the result back to the event
loop, and SQLAlchemy's adapter makes four such calls per statement (open a cursor, execute, fetch, close)
plus one per COMMIT and ROLLBACK, also when there is no transaction to end. Each crossing is a queue put,
a thread wake-up, a call_soon_threadsafe and an event-loop wake-up, and a turn of the message path made
about ninety of them (docs/benchmarks.md, "Backend CPU per turn"). Here a statement is one crossing: the
worker thread opens the cursor, executes, fetches every row (what the adapter does anyway for a client-side
cursor) and closes it, and the cursor handed to SQLAlchemy serves what it read. COMMIT and ROLLBACK with no
transaction open are skipped, which is what sqlite3 itself does with them. The SQL sent and the
transactions are unchanged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

ITER_CHUNK_SIZE = 64  # aiosqlite.connect's default


class _Outcome:
    """What one statement left behind: the cursor's attributes and every row it returned."""

    __slots__ = ("description", "lastrowid", "rowcount", "rows")

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.description = cursor.description
        self.rows: list[Any] = cursor.fetchall() if cursor.description else []
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Outcome:
    """In the connection's thread: the statement from cursor to close."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        elif parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        return _Outcome(cursor)
    finally:
        cursor.close()


class OneHopCursor:
    """The part of aiosqlite's Cursor that SQLAlchemy's adapter uses, one thread crossing per statement."""

    def __init__(self, connection: OneHopConnection) -> None:
        self._connection = connection
        self._outcome: _Outcome | None = None
        self._next = 0
        self.arraysize = 1

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> OneHopCursor:
        await self._run(sql, parameters, many=False)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneHopCursor:
        await self._run(sql, parameters, many=True)
        return self

    async def _run(self, sql: str, parameters: Any, many: bool) -> None:
        self._outcome = await self._connection._execute(_run, self._connection._conn, sql, parameters, many)
        self._next = 0

    async def fetchone(self) -> Any:
        rows = self._take(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._take(size or self.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._take(None)

    def _take(self, size: int | None) -> list[Any]:
        rows = self._outcome.rows if self._outcome is not None else []
        end = len(rows) if size is None else min(len(rows), self._next + size)
        taken, self._next = rows[self._next : end], end
        return taken

    async def close(self) -> None:
        self._outcome = None  # the sqlite3 cursor was closed in the connection's thread

    async def setinputsizes(self, *sizes: Any) -> None:
        """A no-op in sqlite3 too."""

    async def nextset(self) -> None:
        """sqlite3 has one result set per statement."""

    @property
    def description(self) -> Sequence[Any] | None:
        return self._outcome.description if self._outcome is not None else None

    @property
    def rowcount(self) -> int:
        return self._outcome.rowcount if self._outcome is not None else -1

    @property
    def lastrowid(self) -> int | None:
        return self._outcome.lastrowid if self._outcome is not None else None


class OneHopConnection(aiosqlite.Connection):
    def __init__(self, database: str, **kwargs: Any) -> None:
        super().__init__(lambda: sqlite3.connect(database, **kwargs), ITER_CHUNK_SIZE)
        # As SQLAlchemy does for the connections it opens itself: a connection left open never keeps the
        # interpreter from exiting.
        self._thread.daemon = True

    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        return OneHopCursor(self)

    async def commit(self) -> None:
        if self._conn.in_transaction:  # sqlite3's commit() does nothing otherwise: no need to cross
            await super().commit()

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await super().rollback()


def connector(database: str, **kwargs: Any) -> OneHopConnection:
    """For create_async_engine(async_creator=...): awaited by SQLAlchemy, which starts its thread."""
    return OneHopConnection(database, **kwargs)
