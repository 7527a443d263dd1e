"""An index of the flags by subject: a public page reads its batches' warnings by subject

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('trace_flags', schema=None) as batch_op:
        batch_op.create_index('ix_trace_flags_subject', ['subject'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('trace_flags', schema=None) as batch_op:
        batch_op.drop_index('ix_trace_flags_subject')
