"""recalls: the notice of each recall to each party of its scope

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('recall_notices',
    sa.Column('recall_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('party', sa.String(length=18), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_index', sa.BigInteger(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned', sa.Text(), nullable=False),
    sa.Column('destroyed', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recall_index'], ['ledger_entries.entry_index'],
                            name=op.f('fk_recall_notices_recall_index_ledger_entries')),
    sa.PrimaryKeyConstraint('recall_index', 'party', name=op.f('pk_recall_notices'))
    )
    op.create_index(op.f('ix_recall_notices_party'), 'recall_notices', ['party'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_recall_notices_party'), table_name='recall_notices')
    op.drop_table('recall_notices')
