"""risk warnings: the places each public code was looked up from (keyed hashes of networks)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('trace_scan_places',
    sa.Column('code', sa.String(length=256), nullable=False),
    sa.Column('place', sa.String(length=16), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', 'place', name=op.f('pk_trace_scan_places'))
    )


def downgrade() -> None:
    op.drop_table('trace_scan_places')
