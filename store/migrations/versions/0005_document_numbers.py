"""发文字号 allocated per issuing office, kind and year (``document_numbers``), and the issuing offices'
contact details in the directory (``jurisdictions.contacts``) that every document prints.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_numbers",
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("series", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("allocated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("document_id"),
        sa.UniqueConstraint("series", "seq"),
    )
    with op.batch_alter_table("jurisdictions") as batch:
        batch.add_column(sa.Column("contacts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jurisdictions") as batch:
        batch.drop_column("contacts")
    op.drop_table("document_numbers")
