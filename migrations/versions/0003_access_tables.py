"""access tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('access_accounts',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('roles', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_access_accounts'))
    )
    op.create_table('access_key_requests',
    sa.Column('request_id', sa.String(length=32), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('public_key', sa.String(length=44), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('entry_index', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_access_key_requests'))
    )
    with op.batch_alter_table('access_key_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_key_requests_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_key_requests_status'), ['status'], unique=False)

    op.create_table('access_seen_signatures',
    sa.Column('signature_sha256', sa.String(length=64), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('signature_sha256', name=op.f('pk_access_seen_signatures'))
    )
    with op.batch_alter_table('access_seen_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_seen_signatures_seen_at'), ['seen_at'], unique=False)

    op.create_table('access_sessions',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_access_sessions'))
    )
    with op.batch_alter_table('access_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_sessions_username'), ['username'], unique=False)

    op.create_table('access_tokens',
    sa.Column('token_id', sa.String(length=16), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('token_id', name=op.f('pk_access_tokens')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_access_tokens_token_sha256'))
    )
    with op.batch_alter_table('access_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_tokens_credit_code'), ['credit_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('access_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_tokens_credit_code'))

    op.drop_table('access_tokens')
    with op.batch_alter_table('access_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_sessions_username'))

    op.drop_table('access_sessions')
    with op.batch_alter_table('access_seen_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_seen_signatures_seen_at'))

    op.drop_table('access_seen_signatures')
    with op.batch_alter_table('access_key_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_key_requests_status'))
        batch_op.drop_index(batch_op.f('ix_access_key_requests_credit_code'))

    op.drop_table('access_key_requests')
    op.drop_table('access_accounts')
