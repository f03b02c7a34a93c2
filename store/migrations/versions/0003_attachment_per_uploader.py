"""An attachment is recorded once per uploader, keyed by (sha256, uploaded_by): two applicants who
upload the same file (a blank form, a shared charter) each may cite it, and only they may.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = ("sha256", "filename", "content_type", "size", "uploaded_by", "uploaded_at")


def _create(name: str, key: list[str]) -> None:
    op.create_table(
        name,
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*key, name="pk_attachments_" + "_".join(key)),
    )


def _move(key: list[str]) -> None:
    """Rebuild ``attachments`` with another primary key (the same way on SQLite and PostgreSQL)."""
    _create("attachments_rebuilt", key)
    columns = ", ".join(_COLUMNS)
    op.execute(f"INSERT INTO attachments_rebuilt ({columns}) SELECT {columns} FROM attachments")
    op.drop_table("attachments")
    op.rename_table("attachments_rebuilt", "attachments")


def upgrade() -> None:
    _move(["sha256", "uploaded_by"])


def downgrade() -> None:
    # Keeps the first uploader of each file, as release 0.1 did.
    op.execute(
        "DELETE FROM attachments WHERE EXISTS (SELECT 1 FROM attachments AS earlier "
        "WHERE earlier.sha256 = attachments.sha256 AND (earlier.uploaded_at < attachments.uploaded_at "
        "OR (earlier.uploaded_at = attachments.uploaded_at AND earlier.uploaded_by < attachments.uploaded_by)))"
    )
    _move(["sha256"])
