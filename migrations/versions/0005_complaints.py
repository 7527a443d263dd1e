"""complaint channel: complaints, photos, recipients, replies

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('complaints',
    sa.Column('ticket', sa.String(length=16), nullable=False),
    sa.Column('key_sha256', sa.String(length=64), nullable=False),
    sa.Column('ref', sa.String(length=256), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('contact', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('anchor_index', sa.BigInteger(), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('commitment', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('ticket', name=op.f('pk_complaints')),
    sa.UniqueConstraint('anchor_index', name=op.f('uq_complaints_anchor_index'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_ref'), ['ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_status'), ['status'], unique=False)

    op.create_table('complaint_photos',
    sa.Column('ticket', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['ticket'], ['complaints.ticket'], name=op.f('fk_complaint_photos_ticket_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket', 'position', name=op.f('pk_complaint_photos'))
    )
    op.create_table('complaint_recipients',
    sa.Column('ticket', sa.String(length=16), nullable=False),
    sa.Column('party', sa.String(length=64), nullable=False),
    sa.Column('roles', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['ticket'], ['complaints.ticket'], name=op.f('fk_complaint_recipients_ticket_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket', 'party', name=op.f('pk_complaint_recipients'))
    )
    with op.batch_alter_table('complaint_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_recipients_party'), ['party'], unique=False)

    op.create_table('complaint_replies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket', sa.String(length=16), nullable=False),
    sa.Column('author_kind', sa.String(length=16), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('visible', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket'], ['complaints.ticket'], name=op.f('fk_complaint_replies_ticket_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_replies'))
    )
    with op.batch_alter_table('complaint_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_replies_ticket'), ['ticket'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('complaint_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_replies_ticket'))

    op.drop_table('complaint_replies')
    with op.batch_alter_table('complaint_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_recipients_party'))

    op.drop_table('complaint_recipients')
    op.drop_table('complaint_photos')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_status'))
        batch_op.drop_index(batch_op.f('ix_complaints_ref'))
        batch_op.drop_index(batch_op.f('ix_complaints_due_at'))

    op.drop_table('complaints')
