"""bundles rendered by the worker

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # Bundles made before this revision were rendered in the request: they are ready.
    with op.batch_alter_table('bundles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=16), server_default='ready', nullable=False))
        batch_op.add_column(sa.Column('locale', sa.String(length=16), server_default='en', nullable=False))
        batch_op.add_column(sa.Column('rendered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('render_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('render_lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failure', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('failure_detail', sa.String(length=500), server_default='', nullable=False))
        batch_op.alter_column('pdf', existing_type=sa.LargeBinary(), nullable=True)
        batch_op.create_check_constraint(op.f('ck_bundles_state'), "state IN ('rendering', 'ready', 'failed')")
    op.execute("UPDATE bundles SET rendered_at = created_at")
    # New bundles always say their state (the application writes `rendering`); no default pretends one is ready.
    with op.batch_alter_table('bundles', schema=None) as batch_op:
        batch_op.alter_column('state', existing_type=sa.String(length=16), existing_nullable=False, server_default=None)


def downgrade():
    # Before this revision a bundle had its PDF from the start: the ones without (rendering, failed) give their
    # letters back to the waiting pool and go.
    op.execute(
        "UPDATE solidarity_letters SET bundle_id = NULL"
        " WHERE bundle_id IN (SELECT id FROM bundles WHERE state <> 'ready')"
    )
    op.execute("DELETE FROM bundles WHERE state <> 'ready'")
    with op.batch_alter_table('bundles', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_bundles_state'), type_='check')
        batch_op.alter_column('pdf', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('failure_detail')
        batch_op.drop_column('failure')
        batch_op.drop_column('render_lease_until')
        batch_op.drop_column('render_attempts')
        batch_op.drop_column('rendered_at')
        batch_op.drop_column('locale')
        batch_op.drop_column('state')
