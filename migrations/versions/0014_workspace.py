"""workspace invites and device keys; key request labels up to 200 characters (a device's label)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('workspace_invites',
    sa.Column('invite_id', sa.String(length=16), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('staff', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('approval', sa.String(length=10), nullable=False),
    sa.Column('officer', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('invite_id', name=op.f('pk_workspace_invites')),
    sa.UniqueConstraint('secret_sha256', name=op.f('uq_workspace_invites_secret_sha256'))
    )
    with op.batch_alter_table('workspace_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workspace_invites_credit_code'), ['credit_code'], unique=False)

    op.create_table('workspace_devices',
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('public_key', sa.String(length=44), nullable=False),
    sa.Column('staff', sa.String(length=100), nullable=False),
    sa.Column('device', sa.String(length=60), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('invite_id', sa.String(length=16), nullable=False),
    sa.Column('request_id', sa.String(length=32), nullable=False),
    sa.Column('invited_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invite_id'], ['workspace_invites.invite_id'],
                            name=op.f('fk_workspace_devices_invite_id_workspace_invites')),
    sa.ForeignKeyConstraint(['request_id'], ['access_key_requests.request_id'],
                            name=op.f('fk_workspace_devices_request_id_access_key_requests')),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_workspace_devices')),
    sa.UniqueConstraint('invite_id', name=op.f('uq_workspace_devices_invite_id')),
    sa.UniqueConstraint('request_id', name=op.f('uq_workspace_devices_request_id'))
    )
    with op.batch_alter_table('workspace_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workspace_devices_credit_code'), ['credit_code'], unique=False)

    with op.batch_alter_table('access_key_requests', schema=None) as batch_op:
        batch_op.alter_column('label', existing_type=sa.String(length=100), type_=sa.String(length=200),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('access_key_requests', schema=None) as batch_op:
        batch_op.alter_column('label', existing_type=sa.String(length=200), type_=sa.String(length=100),
                              existing_nullable=False)
    with op.batch_alter_table('workspace_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workspace_devices_credit_code'))
    op.drop_table('workspace_devices')
    with op.batch_alter_table('workspace_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workspace_invites_credit_code'))
    op.drop_table('workspace_invites')
