"""groups: group sessions, participations linked to a group

Revision ID: 0016_groups
Revises: 0015_refunds
Create Date: 2026-11-29 09:26:19

A group session's participations are ordinary sessions linked to a `session_group`; a
session without a group is a one-to-one session (a group of one). Existing sessions keep
their ids and every column, so every ledger entry still names the session that moved its
hours; no ledger row is touched.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_groups'
down_revision = '0015_refunds'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('session_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('plan_topics', sa.Text(), nullable=True),
    sa.Column('plan_goals', sa.Text(), nullable=True),
    sa.Column('plan_next_steps', sa.Text(), nullable=True),
    sa.Column('plan_submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_session_group_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_session_group_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_group'))
    )
    with op.batch_alter_table('session_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_group_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('tutoring_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('plan_note', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_tutoring_session_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tutoring_session_group_id_session_group'), 'session_group', ['group_id'], ['id'])



def downgrade():
    with op.batch_alter_table('tutoring_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tutoring_session_group_id_session_group'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tutoring_session_group_id'))
        batch_op.drop_column('plan_note')
        batch_op.drop_column('group_id')

    with op.batch_alter_table('session_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_group_tenant_id'))

    op.drop_table('session_group')
