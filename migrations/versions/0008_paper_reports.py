"""letters written on paper: organisers' reports

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('paper_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('event_name', sa.String(length=120), nullable=False),
    sa.Column('event_kind', sa.String(length=16), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=120), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('letters', sa.Integer(), nullable=False),
    sa.Column('organiser_name', sa.String(length=100), nullable=False),
    sa.Column('organiser_email', sa.String(length=254), nullable=False),
    sa.Column('email_digest', sa.String(length=64), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('looks_automated', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("event_kind IN ('school', 'group', 'street_stall', 'other')", name=op.f('ck_paper_reports_event_kind')),
    sa.CheckConstraint('letters > 0 AND letters <= 100000', name=op.f('ck_paper_reports_letters')),
    sa.CheckConstraint("state IN ('pending', 'approved', 'rejected')", name=op.f('ck_paper_reports_state')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_paper_reports_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_paper_reports_decided_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_reports'))
    )
    with op.batch_alter_table('paper_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_reports_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_paper_reports_email_digest'), ['email_digest'], unique=False)
        batch_op.create_index('ix_paper_reports_queue', ['state', 'created_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('paper_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_paper_reports_queue')
        batch_op.drop_index(batch_op.f('ix_paper_reports_email_digest'))
        batch_op.drop_index(batch_op.f('ix_paper_reports_case_id'))

    op.drop_table('paper_reports')
