"""孵化: incubation bases, their places and waiting lists, and the incubations (``incubation_*``, ``incubations``).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incubation_bases",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("jurisdiction", sa.String(), nullable=False),
        sa.Column("operator", sa.String(), nullable=False),
        sa.Column("contract_no", sa.String(), nullable=True),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=True),
        sa.Column("staff_a", sa.JSON(), nullable=True),
        sa.Column("staff_b", sa.JSON(), nullable=True),
        sa.Column("mentors", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("incubation_bases") as batch:
        batch.create_index(batch.f("ix_incubation_bases_jurisdiction"), ["jurisdiction"], unique=False)
    op.create_table(
        "incubation_places",
        sa.Column("base_code", sa.String(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(), nullable=False),
        sa.Column("held_since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("base_code", "seat"),
        sa.UniqueConstraint("case_no"),
    )
    op.create_table(
        "incubation_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base_code", sa.String(), nullable=False),
        sa.Column("case_no", sa.String(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_no"),
    )
    with op.batch_alter_table("incubation_queue") as batch:
        batch.create_index(batch.f("ix_incubation_queue_base_code"), ["base_code"], unique=False)
    op.create_table(
        "incubations",
        sa.Column("case_no", sa.String(), nullable=False),
        sa.Column("base_code", sa.String(), nullable=False),
        sa.Column("jurisdiction", sa.String(), nullable=False),
        sa.Column("group_name", sa.String(), nullable=False),
        sa.Column("organization", sa.String(), nullable=True),
        sa.Column("representative_id", sa.String(), nullable=False),
        sa.Column("mentor_id", sa.String(), nullable=True),
        sa.Column("phase", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("filing_case_no", sa.String(), nullable=True),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("case_no"),
    )
    with op.batch_alter_table("incubations") as batch:
        batch.create_index(batch.f("ix_incubations_base_code"), ["base_code"], unique=False)
        batch.create_index(batch.f("ix_incubations_jurisdiction"), ["jurisdiction"], unique=False)
        batch.create_index(batch.f("ix_incubations_organization"), ["organization"], unique=False)
        batch.create_index(batch.f("ix_incubations_representative_id"), ["representative_id"], unique=False)
        batch.create_index(batch.f("ix_incubations_mentor_id"), ["mentor_id"], unique=False)
        batch.create_index(batch.f("ix_incubations_filing_case_no"), ["filing_case_no"], unique=False)
    op.create_table(
        "incubation_filings",
        sa.Column("filing_case_no", sa.String(), nullable=False),
        sa.Column("incubation_case_no", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("filing_case_no"),
    )
    with op.batch_alter_table("incubation_filings") as batch:
        batch.create_index(batch.f("ix_incubation_filings_incubation_case_no"), ["incubation_case_no"], unique=False)


def downgrade() -> None:
    for table in ("incubation_filings", "incubations", "incubation_queue", "incubation_places", "incubation_bases"):
        op.drop_table(table)
