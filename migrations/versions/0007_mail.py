"""mail: business contact e-mail and phone; outbox HTML part, Message-ID, retry time

Revision ID: 0007_mail
Revises: 0006_outbox_claim
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_mail'
down_revision = '0006_outbox_claim'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=40), nullable=True))

    # Existing businesses start with their first admin's e-mail, as a sign-up does.
    op.execute(
        sa.text(
            "UPDATE tenant SET contact_email = ("
            " SELECT u.email FROM user_account u"
            " WHERE u.tenant_id = tenant.id AND u.role = 'admin' AND u.active = :yes"
            " ORDER BY u.id LIMIT 1)"
        ).bindparams(yes=True)
    )

    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('html_body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('message_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))

    # Messages queued before this migration get a Message-ID of their own too (stable:
    # derived from the row), so a retry of them is the same message as well.
    op.execute(
        "UPDATE outbound_email SET message_id = "
        "'<outbox.' || tenant_id || '.' || id || '@prepbase.invalid>'"
    )
    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.alter_column('message_id', existing_type=sa.String(length=255), nullable=False)


def downgrade():
    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('message_id')
        batch_op.drop_column('html_body')

    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_email')
