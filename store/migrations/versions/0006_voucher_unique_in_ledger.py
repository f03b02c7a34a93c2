"""A voucher number identifies one payment in the ledger (专帐): a unique constraint holds it even when
two recordings on two contracts race, and the time the voucher was recorded lets a refusal name it.
A database holding a voucher twice must have it corrected before this upgrade. The register holds an
organization's receiving account (收款账户), which payment instructions name.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("voucher_recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint("uq_ledger_voucher", ["voucher"])
    op.execute("UPDATE ledger SET voucher_recorded_at = paid_at WHERE voucher IS NOT NULL")
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("bank", sa.String(), nullable=True))
        batch.add_column(sa.Column("account_name", sa.String(), nullable=True))
        batch.add_column(sa.Column("account_number", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("account_number")
        batch.drop_column("account_name")
        batch.drop_column("bank")
    with op.batch_alter_table("ledger") as batch:
        batch.drop_constraint("uq_ledger_voucher", type_="unique")
        batch.drop_column("voucher_recorded_at")
