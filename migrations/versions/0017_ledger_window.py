"""ledger window: entries indexed by package and time

Revision ID: 0017_ledger_window
Revises: 0016_groups
Create Date: 2026-11-29 09:30:00

The balance charts and run-out projections read a package's ledger over a bounded
window (the last days of it, and the balance carried in before them): an index on
(package_id, created_at, id) finds both without reading the package's older entries
(the entry before the window is its first row backwards, ties in time broken by id). It
replaces the index on package_id alone (its leading column serves every lookup that one
did), so writing an entry maintains as many indexes as before. No row changes.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017_ledger_window'
down_revision = '0016_groups'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_ledger_entry_package_time', 'ledger_entry', ['package_id', 'created_at', 'id'], unique=False)
    op.drop_index('ix_ledger_entry_package_id', table_name='ledger_entry')


def downgrade():
    op.create_index('ix_ledger_entry_package_id', 'ledger_entry', ['package_id'], unique=False)
    op.drop_index('ix_ledger_entry_package_time', table_name='ledger_entry')
