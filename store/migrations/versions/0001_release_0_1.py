"""The read model as release 0.1 made it (SQLModel create_all from store/models.py at ec1363e).

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attachments',
    sa.Column('sha256', sa.String(), nullable=False),
    sa.Column('filename', sa.String(), nullable=False),
    sa.Column('content_type', sa.String(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.String(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('workday', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    with op.batch_alter_table('calendar_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_days_year'), ['year'], unique=False)

    op.create_table('calendar_years',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('sha256', sa.String(), nullable=False),
    sa.Column('loaded_by', sa.String(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('case_numbers',
    sa.Column('case_no', sa.String(), nullable=False),
    sa.Column('series', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('open_key', sa.String(), nullable=True),
    sa.Column('allocated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('case_no'),
    sa.UniqueConstraint('open_key'),
    sa.UniqueConstraint('series', 'seq')
    )
    op.create_table('cases',
    sa.Column('case_no', sa.String(), nullable=False),
    sa.Column('process', sa.String(), nullable=False),
    sa.Column('track', sa.String(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(), nullable=False),
    sa.Column('phase_applicant_name', sa.String(), nullable=False),
    sa.Column('phase_staff_name', sa.String(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('applicant_id', sa.String(), nullable=False),
    sa.Column('applicant_name', sa.String(), nullable=False),
    sa.Column('organization_name', sa.String(), nullable=False),
    sa.Column('community', sa.String(), nullable=False),
    sa.Column('authority_jurisdiction', sa.String(), nullable=True),
    sa.Column('holders', sa.String(), nullable=False),
    sa.Column('next_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('legal_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('case_no')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_applicant_id'), ['applicant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_authority_jurisdiction'), ['authority_jurisdiction'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_closed'), ['closed'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_community'), ['community'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_organization_name'), ['organization_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_phase'), ['phase'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_process'), ['process'], unique=False)

    op.create_table('contract_records',
    sa.Column('contract_no', sa.String(), nullable=False),
    sa.Column('lot_no', sa.String(), nullable=True),
    sa.Column('fair_no', sa.String(), nullable=True),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('buyer_office', sa.String(), nullable=False),
    sa.Column('buyer_id', sa.String(), nullable=False),
    sa.Column('supplier', sa.String(), nullable=False),
    sa.Column('supplier_name', sa.String(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('duration_months', sa.Integer(), nullable=False),
    sa.Column('awarded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('paid_fen', sa.Integer(), nullable=False),
    sa.Column('committed_fen', sa.Integer(), nullable=False),
    sa.Column('withheld_fen', sa.Integer(), nullable=False),
    sa.Column('latest_grade', sa.String(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('contract_no')
    )
    with op.batch_alter_table('contract_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_records_lot_no'), ['lot_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_records_supplier'), ['supplier'], unique=False)

    op.create_table('documents',
    sa.Column('document_id', sa.String(), nullable=False),
    sa.Column('case_no', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('number', sa.String(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('html_sha256', sa.String(), nullable=False),
    sa.Column('pdf_sha256', sa.String(), nullable=False),
    sa.Column('addressee', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('document_id')
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_case_no'), ['case_no'], unique=False)

    op.create_table('experts',
    sa.Column('user_id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('jurisdiction', sa.String(), nullable=False),
    sa.Column('specialties', sa.JSON(), nullable=True),
    sa.Column('conflicts', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('user_id')
    )
    with op.batch_alter_table('experts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experts_jurisdiction'), ['jurisdiction'], unique=False)

    op.create_table('fairs',
    sa.Column('fair_no', sa.String(), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('organizer_jurisdiction', sa.String(), nullable=False),
    sa.Column('phase', sa.String(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('fair_no')
    )
    with op.batch_alter_table('fairs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fairs_organizer_jurisdiction'), ['organizer_jurisdiction'], unique=False)

    op.create_table('jurisdictions',
    sa.Column('code', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('full_name', sa.String(), nullable=False),
    sa.Column('level', sa.String(), nullable=False),
    sa.Column('parent', sa.String(), nullable=True),
    sa.Column('offices', sa.JSON(), nullable=True),
    sa.Column('reconsideration_body', sa.String(), nullable=True),
    sa.Column('court', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('jurisdictions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jurisdictions_parent'), ['parent'], unique=False)

    op.create_table('ledger',
    sa.Column('contract_no', sa.String(), nullable=False),
    sa.Column('entry', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('document_id', sa.String(), nullable=False),
    sa.Column('instructed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voucher', sa.String(), nullable=True),
    sa.Column('note', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('contract_no', 'entry')
    )
    op.create_table('lots',
    sa.Column('lot_no', sa.String(), nullable=False),
    sa.Column('fair_no', sa.String(), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('department_id', sa.String(), nullable=False),
    sa.Column('phase', sa.String(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('lot_no')
    )
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lots_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lots_fair_no'), ['fair_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_lots_phase'), ['phase'], unique=False)

    op.create_table('notifications',
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('case_no', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('recipient_id', sa.String(), nullable=False),
    sa.Column('recipient_name', sa.String(), nullable=False),
    sa.Column('subject', sa.String(), nullable=False),
    sa.Column('body', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_case_no'), ['case_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_recipient_id'), ['recipient_id'], unique=False)

    op.create_table('organizations',
    sa.Column('case_no', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('track', sa.String(), nullable=False),
    sa.Column('community', sa.String(), nullable=False),
    sa.Column('authority_jurisdiction', sa.String(), nullable=False),
    sa.Column('certificate_number', sa.String(), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('standing', sa.String(), nullable=False),
    sa.Column('grade', sa.String(), nullable=True),
    sa.Column('barred_until_year', sa.Integer(), nullable=True),
    sa.Column('representative_id', sa.String(), nullable=False),
    sa.Column('representative_name', sa.String(), nullable=False),
    sa.Column('performance_grade', sa.String(), nullable=True),
    sa.Column('performance_year', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('case_no')
    )
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organizations_community'), ['community'], unique=False)
        batch_op.create_index(batch_op.f('ix_organizations_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_organizations_representative_id'), ['representative_id'], unique=False)

    op.create_table('posts',
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('jurisdiction', sa.String(), nullable=False),
    sa.Column('office', sa.String(), nullable=False),
    sa.Column('a_user_id', sa.String(), nullable=False),
    sa.Column('b_user_id', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('role', 'jurisdiction', 'office')
    )
    op.create_table('showcase_projects',
    sa.Column('fair_no', sa.String(), nullable=False),
    sa.Column('project_id', sa.String(), nullable=False),
    sa.Column('organization', sa.String(), nullable=False),
    sa.Column('organization_name', sa.String(), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('summary', sa.String(), nullable=False),
    sa.Column('beneficiaries', sa.String(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('fair_no', 'project_id')
    )
    op.create_table('staff',
    sa.Column('user_id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('jurisdiction', sa.String(), nullable=False),
    sa.Column('office', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('user_id')
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_jurisdiction'), ['jurisdiction'], unique=False)

    op.create_table('tasks',
    sa.Column('case_no', sa.String(), nullable=False),
    sa.Column('task_id', sa.String(), nullable=False),
    sa.Column('step', sa.String(), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('jurisdiction', sa.String(), nullable=False),
    sa.Column('office', sa.String(), nullable=False),
    sa.Column('a_user_id', sa.String(), nullable=False),
    sa.Column('a_name', sa.String(), nullable=False),
    sa.Column('b_user_id', sa.String(), nullable=False),
    sa.Column('b_name', sa.String(), nullable=False),
    sa.Column('holder_id', sa.String(), nullable=False),
    sa.Column('holder_name', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(), nullable=True),
    sa.Column('organization_name', sa.String(), nullable=False),
    sa.Column('phase_staff_name', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('case_no', 'task_id')
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index('ix_tasks_inbox', ['role', 'jurisdiction', 'status'], unique=False)

    op.create_table('timeline',
    sa.Column('case_no', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.String(), nullable=True),
    sa.Column('actor_name', sa.String(), nullable=True),
    sa.Column('actor_role', sa.String(), nullable=True),
    sa.Column('action', sa.String(), nullable=False),
    sa.Column('summary', sa.String(), nullable=False),
    sa.Column('phase_before', sa.String(), nullable=False),
    sa.Column('phase_after', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('case_no', 'seq')
    )


def downgrade() -> None:
    op.drop_table('timeline')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_inbox')
        batch_op.drop_index(batch_op.f('ix_tasks_holder_id'))

    op.drop_table('tasks')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_jurisdiction'))

    op.drop_table('staff')
    op.drop_table('showcase_projects')
    op.drop_table('posts')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organizations_representative_id'))
        batch_op.drop_index(batch_op.f('ix_organizations_name'))
        batch_op.drop_index(batch_op.f('ix_organizations_community'))

    op.drop_table('organizations')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_recipient_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_case_no'))

    op.drop_table('notifications')
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lots_phase'))
        batch_op.drop_index(batch_op.f('ix_lots_fair_no'))
        batch_op.drop_index(batch_op.f('ix_lots_department_id'))

    op.drop_table('lots')
    op.drop_table('ledger')
    with op.batch_alter_table('jurisdictions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jurisdictions_parent'))

    op.drop_table('jurisdictions')
    with op.batch_alter_table('fairs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fairs_organizer_jurisdiction'))

    op.drop_table('fairs')
    with op.batch_alter_table('experts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experts_jurisdiction'))

    op.drop_table('experts')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_case_no'))

    op.drop_table('documents')
    with op.batch_alter_table('contract_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_records_supplier'))
        batch_op.drop_index(batch_op.f('ix_contract_records_lot_no'))

    op.drop_table('contract_records')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_process'))
        batch_op.drop_index(batch_op.f('ix_cases_phase'))
        batch_op.drop_index(batch_op.f('ix_cases_organization_name'))
        batch_op.drop_index(batch_op.f('ix_cases_community'))
        batch_op.drop_index(batch_op.f('ix_cases_closed'))
        batch_op.drop_index(batch_op.f('ix_cases_authority_jurisdiction'))
        batch_op.drop_index(batch_op.f('ix_cases_applicant_id'))

    op.drop_table('cases')
    op.drop_table('case_numbers')
    op.drop_table('calendar_years')
    with op.batch_alter_table('calendar_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_days_year'))

    op.drop_table('calendar_days')
    op.drop_table('attachments')
