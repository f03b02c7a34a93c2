"""A withheld ledger entry was never instructed: it carries the time it was withheld
(``withheld_at``) and no instruction time; entries withheld under release 0.1 move theirs across.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("withheld_at", sa.DateTime(timezone=True), nullable=True))
        batch.alter_column("instructed_at", existing_type=sa.DateTime(timezone=True), nullable=True)
    op.execute("UPDATE ledger SET withheld_at = instructed_at, instructed_at = NULL WHERE status = 'withheld'")


def downgrade() -> None:
    op.execute("UPDATE ledger SET instructed_at = withheld_at WHERE status = 'withheld'")
    with op.batch_alter_table("ledger") as batch:
        batch.alter_column("instructed_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.drop_column("withheld_at")
