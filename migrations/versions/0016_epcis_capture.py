"""EPCIS capture jobs: captured documents' events drafted for the enterprise to sign, and their outcomes

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('epcis_capture_jobs',
    sa.Column('capture_id', sa.String(length=32), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('error_behaviour', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('statements', sa.Text(), nullable=False),
    sa.Column('errors', sa.Text(), nullable=False),
    sa.Column('results', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('capture_id')
    )
    with op.batch_alter_table('epcis_capture_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_epcis_capture_jobs_author'), ['author'], unique=False)
        batch_op.create_index(batch_op.f('ix_epcis_capture_jobs_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('epcis_capture_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_epcis_capture_jobs_expires_at'))
        batch_op.drop_index(batch_op.f('ix_epcis_capture_jobs_author'))
    op.drop_table('epcis_capture_jobs')
