"""knowledge: no schema change

The knowledge base needs nothing new in the database: the search index lives in files (settings.kb_index_dir)
and is verified against kb_articles (id, version, status), which the initial schema already has. This revision
exists so the migrations after it have a fixed parent.

Revision ID: 0002_knowledge
Revises: 2830376c4960
Create Date: 2026-11-22 20:50:00.000000
"""

from collections.abc import Sequence

revision: str = "0002_knowledge"
down_revision: str | None = "2830376c4960"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
