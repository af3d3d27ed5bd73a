"""policy: the cancellation policy, proposals that expire, and package corrections

Revision ID: 0010_policy
Revises: 0009_categories
Create Date: 2026-11-29 06:30:00

Business settings default to the behaviour before this revision: a late cancellation
keeps nothing and a no-show uses the hours. The new ledger kinds ("late_cancellation",
"waiver") need no schema change: an entry's kind is a plain string column. Existing
ledger entries are not touched. The tenant's new columns are only added, with literal
defaults and no CHECK: on SQLite either a constraint or an SQL-expression default makes
batch mode rebuild the tenant table, and the rebuild cascade-deletes every row that names
the business (foreign keys are on). `prepbase.business` checks the values instead.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_policy'
down_revision = '0009_categories'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late_cancel_window_hours', sa.Integer(), server_default='24', nullable=False))
        batch_op.add_column(sa.Column('late_cancel_keep_percent', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('late_cancel_free_per_month', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cancellation_policy_text', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('no_show_uses_hours', sa.Boolean(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('proposal_expiry_hours', sa.Integer(), server_default='72', nullable=False))

    with op.batch_alter_table('tutoring_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_late', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('declined_reason', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('proposal_reminder_sent_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('package_edit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('before', sa.Text(), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_package_edit_actor_id_user_account')),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_package_edit_package_id_package')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_package_edit_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_package_edit'))
    )
    with op.batch_alter_table('package_edit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_edit_package_id'), ['package_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_package_edit_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    # Entries of the new kinds stay (the ledger is append-only); older code shows their
    # kind as a plain word.
    with op.batch_alter_table('package_edit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_edit_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_package_edit_package_id'))
    op.drop_table('package_edit')

    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), not batch mode: a batch rebuild of
    # tenant or tutoring_session on SQLite cascade-deletes the rows that point to them.
    # None of these columns is in an index or a constraint, so SQLite drops them in place.
    for column in ('proposal_reminder_sent_at', 'declined_reason', 'cancelled_late'):
        op.drop_column('tutoring_session', column)
    for column in (
        'proposal_expiry_hours',
        'no_show_uses_hours',
        'cancellation_policy_text',
        'late_cancel_free_per_month',
        'late_cancel_keep_percent',
        'late_cancel_window_hours',
    ):
        op.drop_column('tenant', column)
