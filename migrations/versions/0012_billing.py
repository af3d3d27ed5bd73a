"""billing: a price on every package, payments with receipt numbers, the business's locale

Revision ID: 0012_billing
Revises: 0011_import
Create Date: 2026-11-29 07:00:00

Online purchases already paid and fulfilled get their payment here (amount, currency and
day from the purchase; receipt numbers 1, 2, 3 … per business in the order they were
paid) and their package the purchase's price. Ledger entries are not touched.
"""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_billing'
down_revision = '0011_import'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=20), server_default='en_US', nullable=False))
        batch_op.add_column(sa.Column('last_receipt_number', sa.Integer(), server_default='0', nullable=False))

    if op.get_bind().dialect.name == 'sqlite':
        # The column comes with its CHECK, so SQLite needs no copy of the table: a copy
        # would drop the old one, which the ledger's and sessions' foreign keys forbid.
        op.execute(
            'ALTER TABLE package ADD COLUMN price_minor INTEGER'
            ' CONSTRAINT ck_package_price_not_negative CHECK (price_minor >= 0)'
        )
    else:
        op.add_column('package', sa.Column('price_minor', sa.Integer(), nullable=True))
        op.create_check_constraint(op.f('ck_package_price_not_negative'), 'package', 'price_minor >= 0')
    op.add_column('package', sa.Column('currency', sa.String(length=3), nullable=True))

    op.create_table('package_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=True),
    sa.Column('receipt_number', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('purchase_id', sa.Integer(), nullable=True),
    sa.Column('stripe_invoice_id', sa.String(length=255), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('void_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_package_payment_amount_positive')),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_package_payment_package_id_package')),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchase.id'], name=op.f('fk_package_payment_purchase_id_purchase')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_package_payment_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_package_payment_tenant_id_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voided_by_id'], ['user_account.id'], name=op.f('fk_package_payment_voided_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_package_payment')),
    sa.UniqueConstraint('purchase_id', name=op.f('uq_package_payment_purchase_id')),
    sa.UniqueConstraint('stripe_invoice_id', name=op.f('uq_package_payment_stripe_invoice_id')),
    sa.UniqueConstraint('tenant_id', 'receipt_number', name=op.f('uq_package_payment_tenant_id_receipt_number'))
    )
    with op.batch_alter_table('package_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_payment_package_id'), ['package_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_package_payment_paid_on'), ['paid_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_package_payment_tenant_id'), ['tenant_id'], unique=False)

    _payments_of_past_purchases()


def _payments_of_past_purchases():
    """One payment per paid, fulfilled purchase; receipt numbers in order per business."""
    conn = op.get_bind()
    purchases = sa.table(
        'purchase',
        sa.column('id'), sa.column('tenant_id'), sa.column('package_id'),
        sa.column('amount_minor'), sa.column('currency'), sa.column('status'),
        sa.column('paid_at', sa.DateTime(timezone=True)), sa.column('created_at', sa.DateTime(timezone=True)),
    )
    tenants = sa.table('tenant', sa.column('id'), sa.column('timezone'), sa.column('last_receipt_number'))
    packages = sa.table('package', sa.column('id'), sa.column('price_minor'), sa.column('currency'))
    payments = sa.table(
        'package_payment',
        sa.column('tenant_id'), sa.column('package_id'), sa.column('amount_minor'),
        sa.column('currency'), sa.column('method'), sa.column('paid_on', sa.Date()),
        sa.column('receipt_number'), sa.column('purchase_id'),
        sa.column('created_at', sa.DateTime(timezone=True)),
    )
    zones = dict(conn.execute(sa.select(tenants.c.id, tenants.c.timezone)).all())
    rows = conn.execute(
        sa.select(purchases)
        .where(purchases.c.status == 'paid', purchases.c.package_id.is_not(None))
        .order_by(purchases.c.tenant_id, purchases.c.paid_at, purchases.c.id)
    ).mappings().all()
    numbers: dict[int, int] = {}
    for row in rows:
        number = numbers[row['tenant_id']] = numbers.get(row['tenant_id'], 0) + 1
        paid_at = _aware(row['paid_at'] or row['created_at'])
        conn.execute(payments.insert().values(
            tenant_id=row['tenant_id'], package_id=row['package_id'],
            amount_minor=row['amount_minor'], currency=row['currency'], method='stripe',
            paid_on=paid_at.astimezone(_zone(zones.get(row['tenant_id']))).date(),
            receipt_number=number, purchase_id=row['id'], created_at=paid_at,
        ))
        conn.execute(
            packages.update().where(packages.c.id == row['package_id'])
            .values(price_minor=row['amount_minor'], currency=row['currency'])
        )
    for tenant_id, last in numbers.items():
        conn.execute(tenants.update().where(tenants.c.id == tenant_id).values(last_receipt_number=last))


def _aware(value):
    if isinstance(value, str):  # SQLite without type information
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _zone(name):
    try:
        return ZoneInfo(name or 'UTC')
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo('UTC')


def downgrade():
    with op.batch_alter_table('package_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_payment_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_package_payment_paid_on'))
        batch_op.drop_index(batch_op.f('ix_package_payment_package_id'))
    op.drop_table('package_payment')

    if op.get_bind().dialect.name == 'sqlite':
        # SQLite drops these columns in place (3.35+): copying the tables instead would
        # drop the old tenant and package tables, which other rows' foreign keys forbid.
        for table, column in (
            ('package', 'currency'), ('package', 'price_minor'),
            ('tenant', 'last_receipt_number'), ('tenant', 'locale'),
        ):
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        return
    op.drop_constraint(op.f('ck_package_price_not_negative'), 'package', type_='check')
    op.drop_column('package', 'currency')
    op.drop_column('package', 'price_minor')
    op.drop_column('tenant', 'last_receipt_number')
    op.drop_column('tenant', 'locale')
