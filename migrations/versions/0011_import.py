"""import: the record of spreadsheet imports

Revision ID: 0011_import
Revises: 0010_policy
Create Date: 2026-11-29 06:40:00

The ledger's new kinds "opening_balance" and "used_before_import" need no schema change:
an entry's kind is a plain string column.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_import'
down_revision = '0010_policy'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_text', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_created', sa.Integer(), nullable=False),
    sa.Column('rows_unchanged', sa.Integer(), nullable=False),
    sa.Column('rows_refused', sa.Integer(), nullable=False),
    sa.Column('refused_csv', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_import_run_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_import_run_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_run'))
    )
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_run_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_run_tenant_id'))

    op.drop_table('import_run')
