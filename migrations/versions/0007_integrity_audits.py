"""audits: integrity audit reports and the checkpoints they verified

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('export_name', sa.String(length=200), nullable=True),
    sa.Column('export_sha256', sa.String(length=64), nullable=True),
    sa.Column('export_bytes', sa.BigInteger(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('done', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=True),
    sa.Column('outcome', sa.String(length=8), nullable=True),
    sa.Column('tree_size', sa.BigInteger(), nullable=True),
    sa.Column('root', sa.String(length=64), nullable=True),
    sa.Column('checkpoint_note', sa.Text(), nullable=True),
    sa.Column('first_bad_index', sa.BigInteger(), nullable=True),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('checkpoints_checked', sa.BigInteger(), nullable=False),
    sa.Column('authors', sa.BigInteger(), nullable=False),
    sa.Column('keys', sa.BigInteger(), nullable=False),
    sa.Column('revoked_keys', sa.BigInteger(), nullable=False),
    sa.Column('events_replayed', sa.BigInteger(), nullable=False),
    sa.Column('milliseconds', sa.BigInteger(), nullable=True),
    sa.Column('inconsistent', sa.Integer(), nullable=False),
    sa.Column('report_json', sa.Text(), nullable=True),
    sa.Column('report_sha256', sa.String(length=64), nullable=True),
    sa.Column('statement_index', sa.BigInteger(), nullable=True),
    sa.Column('statement_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_reports'))
    )
    op.create_index(op.f('ix_audit_reports_started_at'), 'audit_reports', ['started_at'], unique=False)
    op.create_table('audit_checkpoints',
    sa.Column('tree_size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('verified_by', sa.String(length=64), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['audit_reports.id'],
                            name=op.f('fk_audit_checkpoints_report_id_audit_reports')),
    sa.PrimaryKeyConstraint('tree_size', name=op.f('pk_audit_checkpoints'))
    )


def downgrade() -> None:
    op.drop_table('audit_checkpoints')
    op.drop_index(op.f('ix_audit_reports_started_at'), table_name='audit_reports')
    op.drop_table('audit_reports')
