"""spot checks: inspection orders and their results (trace_inspection_orders, derived from the ledger)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('trace_inspection_orders',
    sa.Column('source_ref', sa.String(length=64), nullable=False),
    sa.Column('order_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('enterprise', sa.String(length=18), nullable=False),
    sa.Column('batch', sa.String(length=256), nullable=True),
    sa.Column('inspector', sa.String(length=64), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=True),
    sa.Column('result_index', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('source_ref', 'order_index', name=op.f('pk_trace_inspection_orders'))
    )
    with op.batch_alter_table('trace_inspection_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trace_inspection_orders_enterprise'), ['enterprise'], unique=False)
        batch_op.create_index('ix_trace_inspection_orders_inspector_result', ['inspector', 'result'], unique=False)
        batch_op.create_index('ix_trace_inspection_orders_order_index', ['order_index'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('trace_inspection_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_trace_inspection_orders_order_index')
        batch_op.drop_index('ix_trace_inspection_orders_inspector_result')
        batch_op.drop_index(batch_op.f('ix_trace_inspection_orders_enterprise'))

    op.drop_table('trace_inspection_orders')
