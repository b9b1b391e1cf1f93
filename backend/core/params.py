"""Request parameters shared by the routes: ids and paging offsets bounded to what the database holds.

An unbounded integer would reach the driver and overflow it (SQLite refuses integers beyond 64 bits with
an OverflowError, a 500); bounded here, it is a 422 that names the parameter and the limit.
"""

from typing import Annotated

from fastapi import Path, Query

# The largest value a PostgreSQL bigint or a SQLite integer holds.
MAX_DB_INTEGER = 2**63 - 1

RecordId = Annotated[int, Path(ge=0, le=MAX_DB_INTEGER, description="A record id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_DB_INTEGER, description="How many rows to skip.")]
