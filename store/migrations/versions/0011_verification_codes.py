"""电子证照: the verification code of each certificate, award notice and contract, with the public facts the
verification page shows (``verification_codes``).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verification_codes",
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("case_no", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("issuer_name", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("allocated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("document_id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("verification_codes") as batch:
        batch.create_index(batch.f("ix_verification_codes_case_no"), ["case_no"], unique=False)


def downgrade() -> None:
    op.drop_table("verification_codes")
