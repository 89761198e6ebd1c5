"""messages of hope

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 01:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('solidarity_letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=60), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('flags', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'approved', 'rejected')", name=op.f('ck_solidarity_letters_state')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_solidarity_letters_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_solidarity_letters'))
    )
    with op.batch_alter_table('solidarity_letters', schema=None) as batch_op:
        batch_op.create_index('ix_solidarity_letters_case_state', ['case_id', 'state', 'id'], unique=False)
        batch_op.create_index('ix_solidarity_letters_queue', ['state', 'created_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('solidarity_letters', schema=None) as batch_op:
        batch_op.drop_index('ix_solidarity_letters_queue')
        batch_op.drop_index('ix_solidarity_letters_case_state')

    op.drop_table('solidarity_letters')
