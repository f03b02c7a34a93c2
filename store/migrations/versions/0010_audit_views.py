"""查阅记录: every view by an auditor (who, when, which case and page), kept apart from case histories.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("user_name", sa.String(), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("page", sa.String(), nullable=False),
        sa.Column("case_no", sa.String(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_views") as batch:
        batch.create_index(batch.f("ix_audit_views_user_id"), ["user_id"], unique=False)
        batch.create_index(batch.f("ix_audit_views_viewed_at"), ["viewed_at"], unique=False)
        batch.create_index(batch.f("ix_audit_views_case_no"), ["case_no"], unique=False)


def downgrade() -> None:
    op.drop_table("audit_views")
