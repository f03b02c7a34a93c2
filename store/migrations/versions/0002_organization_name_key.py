"""Organizations keep the folded form of their name (``name_key``), so a look-alike of a registered
name is found by an indexed query; open cases' guard keys are folded the same way.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from schemas.text import name_key

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_organizations = sa.table(
    "organizations", sa.column("case_no", sa.String()), sa.column("name", sa.String()), sa.column("name_key", sa.String())
)
_case_numbers = sa.table(
    "case_numbers", sa.column("case_no", sa.String()), sa.column("open_key", sa.String()),
    sa.column("allocated_at", sa.DateTime()),
)


def _fold_open_key(open_key: str) -> str:
    district, _, name = open_key.partition(":")
    return f"{district}:{name_key(name)}"


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("name_key", sa.String(), nullable=True))

    connection = op.get_bind()
    for case_no, name in connection.execute(sa.select(_organizations.c.case_no, _organizations.c.name)).all():
        connection.execute(
            _organizations.update().where(_organizations.c.case_no == case_no).values(name_key=name_key(name))
        )

    with op.batch_alter_table("organizations") as batch:
        batch.alter_column("name_key", existing_type=sa.String(), nullable=False)
        batch.create_index("ix_organizations_name_key", ["name_key"])

    # open_key is unique. Keys already folded stay as they are; the others are folded oldest case
    # first, and a case whose folded key another open case already holds keeps its old key (both
    # cases stay open; from now on neither name can open a third).
    rows = connection.execute(
        sa.select(_case_numbers.c.case_no, _case_numbers.c.open_key)
        .where(_case_numbers.c.open_key.is_not(None))
        .order_by(_case_numbers.c.allocated_at, _case_numbers.c.case_no)
    ).all()
    taken = {key for _, key in rows if _fold_open_key(key) == key}
    for case_no, key in rows:
        folded = _fold_open_key(key)
        if folded == key or folded in taken:
            continue
        taken.add(folded)
        connection.execute(_case_numbers.update().where(_case_numbers.c.case_no == case_no).values(open_key=folded))


def downgrade() -> None:
    # Folded open keys stay folded: the previous release compares NFKC names without whitespace,
    # so a folded key still guards the same organization for names without letters or punctuation.
    with op.batch_alter_table("organizations") as batch:
        batch.drop_index("ix_organizations_name_key")
        batch.drop_column("name_key")
