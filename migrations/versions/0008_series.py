"""series: weekly series of sessions, and a session's place in one

Revision ID: 0008_series
Revises: 0007_mail
Create Date: 2026-12-09 09:00:00

The new status "waiting" (Waiting for hours) needs no schema change: a session's status
is a plain string column.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_series'
down_revision = '0007_mail'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('session_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=False),
    sa.Column('every_weeks', sa.Integer(), nullable=False),
    sa.Column('weekdays', sa.Integer(), nullable=False),
    sa.Column('start_minute', sa.Integer(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('booked_by_family', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('duration_minutes > 0', name=op.f('ck_session_series_duration_positive')),
    sa.CheckConstraint('every_weeks >= 1 AND every_weeks <= 4', name=op.f('ck_session_series_every_weeks_valid')),
    sa.CheckConstraint('occurrences >= 0', name=op.f('ck_session_series_occurrences_not_negative')),
    sa.CheckConstraint('start_minute >= 0 AND start_minute < 1440', name=op.f('ck_session_series_start_minute_valid')),
    sa.CheckConstraint('weekdays > 0 AND weekdays < 128', name=op.f('ck_session_series_weekdays_valid')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_session_series_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['staff_id'], ['user_account.id'], name=op.f('fk_session_series_staff_id_user_account')),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], name=op.f('fk_session_series_student_id_student')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_session_series_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_series'))
    )
    with op.batch_alter_table('session_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_series_student_id'), ['student_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_series_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('tutoring_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('series_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('series_position', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_tutoring_session_series_id'), ['series_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tutoring_session_series_id_session_series'), 'session_series', ['series_id'], ['id'])


def downgrade():
    # Before this revision no session waits for hours: a waiting occurrence (which holds
    # no hours) becomes a cancelled session, so the older code can read every row.
    op.execute(
        sa.text(
            "UPDATE tutoring_session SET status = 'cancelled', cancelled_at = CURRENT_TIMESTAMP,"
            " cancel_reason = 'Was waiting for hours (weekly series removed by a downgrade)'"
            " WHERE status = 'waiting'"
        )
    )
    with op.batch_alter_table('tutoring_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tutoring_session_series_id_session_series'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tutoring_session_series_id'))
        batch_op.drop_column('series_position')
        batch_op.drop_column('series_id')

    with op.batch_alter_table('session_series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_series_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_session_series_student_id'))

    op.drop_table('session_series')
