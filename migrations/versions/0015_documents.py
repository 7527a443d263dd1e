"""certificate documents uploaded by enterprises: their bytes by SHA-256, and who uploaded them

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('workspace_documents',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_workspace_documents'))
    )
    op.create_table('workspace_document_uploads',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sha256'], ['workspace_documents.sha256'],
                            name=op.f('fk_workspace_document_uploads_sha256_workspace_documents'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sha256', 'credit_code', name=op.f('pk_workspace_document_uploads'))
    )
    with op.batch_alter_table('workspace_document_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workspace_document_uploads_credit_code'), ['credit_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('workspace_document_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workspace_document_uploads_credit_code'))
    op.drop_table('workspace_document_uploads')
    op.drop_table('workspace_documents')
