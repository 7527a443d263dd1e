"""Stored verdicts on the batches' proof bundles, the watermark of the worker that checks them, and an index of the
batches' events by entry

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('trace_batch_verdicts',
    sa.Column('ref', sa.String(length=256), nullable=False),
    sa.Column('latest', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_index', sa.BigInteger(), nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('checkpoint_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('earlier', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('ref', 'latest', name=op.f('pk_trace_batch_verdicts'))
    )
    op.create_table('trace_verdict_progress',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trace_verdict_progress'))
    )
    with op.batch_alter_table('trace_batch_events', schema=None) as batch_op:
        batch_op.create_index('ix_trace_batch_events_entry_index', ['entry_index'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('trace_batch_events', schema=None) as batch_op:
        batch_op.drop_index('ix_trace_batch_events_entry_index')
    op.drop_table('trace_verdict_progress')
    op.drop_table('trace_batch_verdicts')
