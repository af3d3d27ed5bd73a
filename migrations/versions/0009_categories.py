"""categories: session categories, locations, subjects; addresses, phones, meeting links

Revision ID: 0009_categories
Revises: 0008_series
Create Date: 2026-11-29 06:16:15

Every session and series gets a category: each existing business gets one category named
"Session" (the one a new business starts with) and all its sessions and series point at
it. Ledger entries are not touched.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_categories'
down_revision = '0008_series'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('location',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_location_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_location_tenant_id_name'))
    )
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('session_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('colour', sa.String(length=7), nullable=False),
    sa.Column('location_type', sa.String(length=20), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('buffer_before_minutes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('buffer_after_minutes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('reminder_hours', sa.Integer(), nullable=True),
    sa.Column('link_lead_minutes', sa.Integer(), server_default='30', nullable=False),
    sa.Column('capacity', sa.Integer(), server_default='1', nullable=False),
    sa.Column('families_may_join', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('buffer_before_minutes >= 0 AND buffer_after_minutes >= 0', name=op.f('ck_session_category_buffers_not_negative')),
    sa.CheckConstraint('capacity >= 1', name=op.f('ck_session_category_capacity_positive')),
    sa.CheckConstraint('link_lead_minutes >= 0', name=op.f('ck_session_category_link_lead_not_negative')),
    sa.CheckConstraint('reminder_hours IS NULL OR reminder_hours >= 0', name=op.f('ck_session_category_reminder_not_negative')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_session_category_location_id_location')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_session_category_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_category')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_session_category_tenant_id_name'))
    )
    with op.batch_alter_table('session_category', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_category_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_category_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('subject',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['session_category.id'], name=op.f('fk_subject_category_id_session_category')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_subject_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject')),
    sa.UniqueConstraint('category_id', 'name', name=op.f('uq_subject_category_id_name'))
    )
    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subject_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subject_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('staff_subject',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_staff_subject_subject_id_subject'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_staff_subject_tenant_id_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_staff_subject_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_subject')),
    sa.UniqueConstraint('user_id', 'subject_id', name=op.f('uq_staff_subject_user_id_subject_id'))
    )
    with op.batch_alter_table('staff_subject', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_subject_subject_id'), ['subject_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_subject_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_subject_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('family', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=True))

    with op.batch_alter_table('session_series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_session_series_subject_id_subject'), 'subject', ['subject_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_session_series_category_id_session_category'), 'session_category', ['category_id'], ['id'])

    with op.batch_alter_table('student', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=True))

    with op.batch_alter_table('tutoring_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('custom_address', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('meeting_link', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('ical_sequence', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_tutoring_session_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tutoring_session_subject_id'), ['subject_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tutoring_session_subject_id_subject'), 'subject', ['subject_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_tutoring_session_category_id_session_category'), 'session_category', ['category_id'], ['id'])

    _give_every_business_its_category()
    with op.batch_alter_table('session_series', schema=None) as batch_op:
        batch_op.alter_column('category_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('tutoring_session', schema=None) as batch_op:
        batch_op.alter_column('category_id', existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ical', sa.Text(), nullable=True))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_meeting_link', sa.String(length=500), nullable=True))



def _give_every_business_its_category():
    """One "Session" category per business (as sign-up makes), and every existing session
    and series of the business in it."""
    op.execute(
        sa.text(
            "INSERT INTO session_category (tenant_id, name, colour, location_type,"
            " buffer_before_minutes, buffer_after_minutes, link_lead_minutes, capacity,"
            " families_may_join, active, created_at)"
            " SELECT id, 'Session', '#1d4ed8', 'center', 0, 0, 30, 1, :no, :yes,"
            " CURRENT_TIMESTAMP FROM tenant"
        ).bindparams(no=False, yes=True)
    )
    for table in ("tutoring_session", "session_series"):
        op.execute(
            sa.text(
                f"UPDATE {table} SET category_id = (SELECT c.id FROM session_category c"
                f" WHERE c.tenant_id = {table}.tenant_id)"
            )
        )


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('default_meeting_link')

    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.drop_column('ical')

    with op.batch_alter_table('tutoring_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tutoring_session_category_id_session_category'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_tutoring_session_subject_id_subject'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tutoring_session_subject_id'))
        batch_op.drop_index(batch_op.f('ix_tutoring_session_category_id'))
        batch_op.drop_column('ical_sequence')
        batch_op.drop_column('meeting_link')
        batch_op.drop_column('custom_address')
        batch_op.drop_column('subject_id')
        batch_op.drop_column('category_id')

    with op.batch_alter_table('student', schema=None) as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('address')

    with op.batch_alter_table('session_series', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_session_series_category_id_session_category'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_session_series_subject_id_subject'), type_='foreignkey')
        batch_op.drop_column('subject_id')
        batch_op.drop_column('category_id')

    with op.batch_alter_table('family', schema=None) as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('address')

    with op.batch_alter_table('staff_subject', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_subject_user_id'))
        batch_op.drop_index(batch_op.f('ix_staff_subject_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_staff_subject_subject_id'))

    op.drop_table('staff_subject')
    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subject_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_subject_category_id'))

    op.drop_table('subject')
    with op.batch_alter_table('session_category', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_category_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_session_category_location_id'))

    op.drop_table('session_category')
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_tenant_id'))

    op.drop_table('location')
