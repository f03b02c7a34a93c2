"""好差评: an applicant's rating of the service once their case has ended, one per case, recorded against
the office that handled it (not a projection of any workflow).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(), nullable=False),
        sa.Column("track", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("applicant_id", sa.String(), nullable=False),
        sa.Column("applicant_name", sa.String(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(), nullable=True),
        sa.Column("office_name", sa.String(), nullable=False),
        sa.Column("office_role", sa.String(), nullable=False),
        sa.Column("jurisdiction", sa.String(), nullable=False),
        sa.Column("jurisdiction_name", sa.String(), nullable=False),
        sa.Column("jurisdiction_path", sa.String(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_no", name="uq_ratings_case_no"),
    )
    with op.batch_alter_table("ratings") as batch:
        batch.create_index(batch.f("ix_ratings_office_name"), ["office_name"], unique=False)
        batch.create_index(batch.f("ix_ratings_jurisdiction"), ["jurisdiction"], unique=False)
        batch.create_index(batch.f("ix_ratings_rated_at"), ["rated_at"], unique=False)


def downgrade() -> None:
    op.drop_table("ratings")
