"""refunds: money given back for an online purchase, once per Stripe refund id

Revision ID: 0015_refunds
Revises: 0014_promo
Create Date: 2026-11-29 08:00:00

Also: a subscription purchase's failed invoice and cancel-at-period-end, and when a
business disconnected Stripe. New columns are nullable or have a server default; no
existing row (ledger entries included) changes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_refunds'
down_revision = '0014_promo'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stripe_refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('stripe_refund_id', sa.String(length=255), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('minutes_due', sa.Integer(), nullable=False),
    sa.Column('minutes_removed', sa.Integer(), nullable=False),
    sa.Column('ledger_entry_id', sa.Integer(), nullable=True),
    sa.Column('refunded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_stripe_refund_amount_positive')),
    sa.CheckConstraint('minutes_removed >= 0', name=op.f('ck_stripe_refund_minutes_removed_not_negative')),
    sa.ForeignKeyConstraint(['ledger_entry_id'], ['ledger_entry.id'], name=op.f('fk_stripe_refund_ledger_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_stripe_refund_package_id_package')),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchase.id'], name=op.f('fk_stripe_refund_purchase_id_purchase')),
    sa.ForeignKeyConstraint(['refunded_by_id'], ['user_account.id'], name=op.f('fk_stripe_refund_refunded_by_id_user_account')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_stripe_refund_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_refund')),
    sa.UniqueConstraint('stripe_refund_id', name=op.f('uq_stripe_refund_stripe_refund_id'))
    )
    with op.batch_alter_table('stripe_refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_refund_package_id'), ['package_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_refund_purchase_id'), ['purchase_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_refund_tenant_id'), ['tenant_id'], unique=False)
    with op.batch_alter_table('purchase', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_failed_invoice_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('cancel_at_period_end', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_disconnected_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('stripe_disconnected_at')
    with op.batch_alter_table('purchase', schema=None) as batch_op:
        batch_op.drop_column('cancel_at_period_end')
        batch_op.drop_column('payment_failed_invoice_id')
    with op.batch_alter_table('stripe_refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_refund_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_stripe_refund_purchase_id'))
        batch_op.drop_index(batch_op.f('ix_stripe_refund_package_id'))
    op.drop_table('stripe_refund')
