"""timeline announcements: admins ask, the mail worker tells the supporters

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 17:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_updates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('announce_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('announce_cursor', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('announce_queued', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('announced_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('case_updates', schema=None) as batch_op:
        batch_op.drop_column('announced_at')
        batch_op.drop_column('announce_queued')
        batch_op.drop_column('announce_cursor')
        batch_op.drop_column('announce_requested_at')
