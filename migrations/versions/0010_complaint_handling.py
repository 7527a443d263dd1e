"""complaint handling: assignee, reply salts, the authorities' actions on complaints

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_complaints_assignee'), ['assignee'], unique=False)

    with op.batch_alter_table('complaint_replies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('salt', sa.String(length=64), nullable=True))

    op.create_table('complaint_actions',
    sa.Column('entry_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('ticket', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('officer', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('assignee', sa.String(length=64), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalation', sa.String(length=16), nullable=True),
    sa.Column('order_index', sa.BigInteger(), nullable=True),
    sa.Column('reply_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reply_id'], ['complaint_replies.id'], name=op.f('fk_complaint_actions_reply_id_complaint_replies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket'], ['complaints.ticket'], name=op.f('fk_complaint_actions_ticket_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entry_index', name=op.f('pk_complaint_actions'))
    )
    with op.batch_alter_table('complaint_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_actions_ticket'), ['ticket'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('complaint_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_actions_ticket'))

    op.drop_table('complaint_actions')
    with op.batch_alter_table('complaint_replies', schema=None) as batch_op:
        batch_op.drop_column('salt')

    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_assignee'))
        batch_op.drop_column('assignee')
