"""ledger tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 12:18:48.706261
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('ledger_checkpoints',
    sa.Column('tree_size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tree_size', name=op.f('pk_ledger_checkpoints'))
    )
    op.create_table('ledger_entries',
    sa.Column('entry_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('leaf', sa.LargeBinary(), nullable=False),
    sa.Column('leaf_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('chain_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('statement_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('type', sa.String(length=160), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('entry_index', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('author', 'seq', name=op.f('uq_ledger_entries_author')),
    sa.UniqueConstraint('statement_hash', name=op.f('uq_ledger_entries_statement_hash'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_type'), ['type'], unique=False)

    op.create_table('ledger_head',
    sa.Column('id', sa.SmallInteger(), nullable=False),
    sa.Column('origin', sa.String(length=200), nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('chain_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('last_received', sa.String(length=32), nullable=False),
    sa.Column('registrar', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_head'))
    )
    op.create_table('ledger_tree_nodes',
    sa.Column('level', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('position', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.PrimaryKeyConstraint('level', 'position', name=op.f('pk_ledger_tree_nodes'))
    )
    op.create_table('ledger_authors',
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('statement_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('entry_index', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['entry_index'], ['ledger_entries.entry_index'], name=op.f('fk_ledger_authors_entry_index_ledger_entries')),
    sa.PrimaryKeyConstraint('author', name=op.f('pk_ledger_authors'))
    )
    op.create_table('ledger_batch_heads',
    sa.Column('ref', sa.String(length=256), nullable=False),
    sa.Column('statement_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('entry_index', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['entry_index'], ['ledger_entries.entry_index'], name=op.f('fk_ledger_batch_heads_entry_index_ledger_entries')),
    sa.PrimaryKeyConstraint('ref', name=op.f('pk_ledger_batch_heads'))
    )
    op.create_table('ledger_keys',
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('public_key', sa.LargeBinary(length=32), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('added_index', sa.BigInteger(), nullable=False),
    sa.Column('revoked_index', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['added_index'], ['ledger_entries.entry_index'], name=op.f('fk_ledger_keys_added_index_ledger_entries')),
    sa.ForeignKeyConstraint(['revoked_index'], ['ledger_entries.entry_index'], name=op.f('fk_ledger_keys_revoked_index_ledger_entries')),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_ledger_keys'))
    )
    with op.batch_alter_table('ledger_keys', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_keys_author', ['author'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('ledger_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_keys_author')

    op.drop_table('ledger_keys')
    op.drop_table('ledger_batch_heads')
    op.drop_table('ledger_authors')
    op.drop_table('ledger_tree_nodes')
    op.drop_table('ledger_head')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_type'))

    op.drop_table('ledger_entries')
    op.drop_table('ledger_checkpoints')
    
