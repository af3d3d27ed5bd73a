"""category policy: a session category's own late-cancellation window and kept share

Revision ID: 0013_category_policy
Revises: 0012_billing
Create Date: 2026-11-29 07:55:00

Two nullable columns (None = the business's Cancellation Policy); added in place on
SQLite (no table copy), and no ledger entry changes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_category_policy'
down_revision = '0012_billing'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('session_category', sa.Column('late_cancel_window_hours', sa.Integer(), nullable=True))
    op.add_column('session_category', sa.Column('late_cancel_keep_percent', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('session_category', 'late_cancel_keep_percent')
    op.drop_column('session_category', 'late_cancel_window_hours')
