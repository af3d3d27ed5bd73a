"""promo codes and hour extensions

Revision ID: 0014_promo
Revises: 0013_category_policy
Create Date: 2026-11-29 07:50:30

A business's own promo codes (not Stripe coupons) and offerings' hour extensions; a
purchase records its code, discount and extra minutes. Columns added with defaults;
no ledger entry changes.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_promo'
down_revision = '0013_category_policy'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('promo_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('code_key', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('all_offerings', sa.Boolean(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('max_uses_per_family', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('value > 0', name=op.f('ck_promo_code_value_positive')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_promo_code_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promo_code'))
    )
    with op.batch_alter_table('promo_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promo_code_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('uq_promo_code_tenant_code', ['tenant_id', 'code_key'], unique=True)

    op.create_table('promo_code_offering',
    sa.Column('promo_code_id', sa.Integer(), nullable=False),
    sa.Column('offering_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['offering_id'], ['offering.id'], name=op.f('fk_promo_code_offering_offering_id_offering'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['promo_code_id'], ['promo_code.id'], name=op.f('fk_promo_code_offering_promo_code_id_promo_code'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('promo_code_id', 'offering_id', name=op.f('pk_promo_code_offering'))
    )
    with op.batch_alter_table('offering', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allows_extensions', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('extension_min_hours', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('extension_max_hours', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('extension_price_minor', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('purchase', schema=None) as batch_op:
        batch_op.add_column(sa.Column('promo_code_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('discount_minor', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('extra_minutes', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_purchase_promo_code_id'), ['promo_code_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_purchase_promo_code_id_promo_code'), 'promo_code', ['promo_code_id'], ['id'])




def downgrade():

    with op.batch_alter_table('purchase', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_purchase_promo_code_id_promo_code'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_purchase_promo_code_id'))
        batch_op.drop_column('extra_minutes')
        batch_op.drop_column('discount_minor')
        batch_op.drop_column('promo_code_id')

    with op.batch_alter_table('offering', schema=None) as batch_op:
        batch_op.drop_column('extension_price_minor')
        batch_op.drop_column('extension_max_hours')
        batch_op.drop_column('extension_min_hours')
        batch_op.drop_column('allows_extensions')

    op.drop_table('promo_code_offering')
    with op.batch_alter_table('promo_code', schema=None) as batch_op:
        batch_op.drop_index('uq_promo_code_tenant_code')
        batch_op.drop_index(batch_op.f('ix_promo_code_tenant_id'))

    op.drop_table('promo_code')

