"""credit lists: the legal basis of an enterprise's current status

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('trace_enterprises', sa.Column('legal_basis', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('trace_enterprises') as batch:
        batch.drop_column('legal_basis')
