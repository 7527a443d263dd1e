"""traceability state tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('trace_batch_events',
    sa.Column('ref', sa.String(length=256), nullable=False),
    sa.Column('entry_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.PrimaryKeyConstraint('ref', 'entry_index', name=op.f('pk_trace_batch_events'))
    )
    op.create_table('trace_batches',
    sa.Column('ref', sa.String(length=256), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('lot', sa.String(length=20), nullable=True),
    sa.Column('sscc', sa.String(length=18), nullable=True),
    sa.Column('unit', sa.String(length=3), nullable=False),
    sa.Column('quantity', sa.String(length=24), nullable=False),
    sa.Column('outstanding', sa.String(length=24), nullable=False),
    sa.Column('creator', sa.String(length=18), nullable=False),
    sa.Column('created_index', sa.BigInteger(), nullable=False),
    sa.Column('last_index', sa.BigInteger(), nullable=False),
    sa.Column('produced_on', sa.String(length=10), nullable=True),
    sa.Column('expires_on', sa.String(length=10), nullable=True),
    sa.Column('origin', sa.Text(), nullable=False),
    sa.Column('certificates', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('inspection', sa.String(length=16), nullable=True),
    sa.Column('inspection_index', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('ref', name=op.f('pk_trace_batches'))
    )
    with op.batch_alter_table('trace_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trace_batches_creator'), ['creator'], unique=False)
        batch_op.create_index('ix_trace_batches_gtin_lot', ['gtin', 'lot'], unique=False)

    op.create_table('trace_contents',
    sa.Column('container', sa.String(length=256), nullable=False),
    sa.Column('ref', sa.String(length=256), nullable=False),
    sa.Column('quantity', sa.String(length=24), nullable=False),
    sa.Column('units', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('container', 'ref', name=op.f('pk_trace_contents'))
    )
    op.create_table('trace_edges',
    sa.Column('parent', sa.String(length=256), nullable=False),
    sa.Column('child', sa.String(length=256), nullable=False),
    sa.Column('entry_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('quantity', sa.String(length=24), nullable=True),
    sa.PrimaryKeyConstraint('parent', 'child', 'entry_index', name=op.f('pk_trace_edges'))
    )
    with op.batch_alter_table('trace_edges', schema=None) as batch_op:
        batch_op.create_index('ix_trace_edges_child', ['child'], unique=False)

    op.create_table('trace_enterprises',
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('roles', sa.String(length=100), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=False),
    sa.Column('status_index', sa.BigInteger(), nullable=False),
    sa.Column('registered_index', sa.BigInteger(), nullable=False),
    sa.Column('check_override', sa.String(length=500), nullable=True),
    sa.Column('commitment_sha256', sa.String(length=64), nullable=False),
    sa.Column('locations', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('credit_code', name=op.f('pk_trace_enterprises'))
    )
    with op.batch_alter_table('trace_enterprises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trace_enterprises_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_trace_enterprises_status'), ['status'], unique=False)

    op.create_table('trace_flags',
    sa.Column('entry_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=256), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('entry_index', 'code', 'subject', name=op.f('pk_trace_flags'))
    )
    op.create_table('trace_holdings',
    sa.Column('ref', sa.String(length=256), nullable=False),
    sa.Column('holder', sa.String(length=18), nullable=False),
    sa.Column('quantity', sa.String(length=24), nullable=False),
    sa.PrimaryKeyConstraint('ref', 'holder', name=op.f('pk_trace_holdings'))
    )
    with op.batch_alter_table('trace_holdings', schema=None) as batch_op:
        batch_op.create_index('ix_trace_holdings_holder', ['holder'], unique=False)

    op.create_table('trace_products',
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('owner', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('spec', sa.String(length=200), nullable=False),
    sa.Column('approval_number', sa.String(length=20), nullable=True),
    sa.Column('drug_prefix', sa.String(length=7), nullable=True),
    sa.Column('defined_index', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('gtin', name=op.f('pk_trace_products'))
    )
    with op.batch_alter_table('trace_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trace_products_drug_prefix'), ['drug_prefix'], unique=False)
        batch_op.create_index(batch_op.f('ix_trace_products_owner'), ['owner'], unique=False)

    op.create_table('trace_recalls',
    sa.Column('ref', sa.String(length=256), nullable=False),
    sa.Column('recall_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('source_ref', sa.String(length=256), nullable=False),
    sa.Column('issuer', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('ref', 'recall_index', name=op.f('pk_trace_recalls'))
    )
    op.create_table('trace_shipments',
    sa.Column('shipper', sa.String(length=18), nullable=False),
    sa.Column('shipment_id', sa.String(length=64), nullable=False),
    sa.Column('ref', sa.String(length=256), nullable=False),
    sa.Column('receiver', sa.String(length=18), nullable=False),
    sa.Column('quantity', sa.String(length=24), nullable=False),
    sa.Column('unit', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('ship_index', sa.BigInteger(), nullable=False),
    sa.Column('receive_index', sa.BigInteger(), nullable=True),
    sa.Column('received_quantity', sa.String(length=24), nullable=True),
    sa.Column('carrier', sa.String(length=18), nullable=True),
    sa.Column('units', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('shipper', 'shipment_id', name=op.f('pk_trace_shipments'))
    )
    with op.batch_alter_table('trace_shipments', schema=None) as batch_op:
        batch_op.create_index('ix_trace_shipments_receiver_status', ['receiver', 'status'], unique=False)
        batch_op.create_index('ix_trace_shipments_ref', ['ref'], unique=False)

    op.create_table('trace_units',
    sa.Column('ref', sa.String(length=256), nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=18), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('sold_count', sa.Integer(), nullable=False),
    sa.Column('first_sold_index', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('ref', 'unit_id', name=op.f('pk_trace_units'))
    )
    with op.batch_alter_table('trace_units', schema=None) as batch_op:
        batch_op.create_index('ix_trace_units_unit_id', ['unit_id'], unique=False)

    op.create_table('trace_events',
    sa.Column('entry_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('time', sa.String(length=40), nullable=False),
    sa.Column('location', sa.String(length=32), nullable=True),
    sa.Column('refs', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('undo', sa.Text(), nullable=False),
    sa.Column('corrected_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['entry_index'], ['ledger_entries.entry_index'], name=op.f('fk_trace_events_entry_index_ledger_entries')),
    sa.PrimaryKeyConstraint('entry_index', name=op.f('pk_trace_events'))
    )
    with op.batch_alter_table('trace_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trace_events_actor'), ['actor'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('trace_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trace_events_actor'))

    op.drop_table('trace_events')
    with op.batch_alter_table('trace_units', schema=None) as batch_op:
        batch_op.drop_index('ix_trace_units_unit_id')

    op.drop_table('trace_units')
    with op.batch_alter_table('trace_shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_trace_shipments_ref')
        batch_op.drop_index('ix_trace_shipments_receiver_status')

    op.drop_table('trace_shipments')
    op.drop_table('trace_recalls')
    with op.batch_alter_table('trace_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trace_products_owner'))
        batch_op.drop_index(batch_op.f('ix_trace_products_drug_prefix'))

    op.drop_table('trace_products')
    with op.batch_alter_table('trace_holdings', schema=None) as batch_op:
        batch_op.drop_index('ix_trace_holdings_holder')

    op.drop_table('trace_holdings')
    op.drop_table('trace_flags')
    with op.batch_alter_table('trace_enterprises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trace_enterprises_status'))
        batch_op.drop_index(batch_op.f('ix_trace_enterprises_region'))

    op.drop_table('trace_enterprises')
    with op.batch_alter_table('trace_edges', schema=None) as batch_op:
        batch_op.drop_index('ix_trace_edges_child')

    op.drop_table('trace_edges')
    op.drop_table('trace_contents')
    with op.batch_alter_table('trace_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_trace_batches_gtin_lot')
        batch_op.drop_index(batch_op.f('ix_trace_batches_creator'))

    op.drop_table('trace_batches')
    op.drop_table('trace_batch_events')
