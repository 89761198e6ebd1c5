"""appeal revisions, held submissions apart, and normalised recipients in the outbox

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 21:20:00

"""
import hashlib
import hmac
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

HELD_APART = sa.text("state <> 'held'")


def _digest_function():
    """The keyed digest of app.addresses, frozen here (a migration must not change when the app does)."""
    from flask import current_app
    import idna

    key = (current_app.config.get("EMAIL_DIGEST_KEY") or current_app.config["SECRET_KEY"]).encode()

    def digest(address):
        address = unicodedata.normalize("NFC", (address or "").strip())
        local, at, domain = address.rpartition("@")
        if at:
            try:
                domain = idna.decode(domain, uts46=True)
            except (idna.IDNAError, UnicodeError, ValueError):
                pass
            address = f"{local}@{domain}"
        return hmac.new(key, address.casefold().encode(), hashlib.sha256).hexdigest()

    return digest


def upgrade():
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
        batch_op.drop_constraint('uq_appeals_case_id_email_digest', type_='unique')
        batch_op.create_index('ux_appeals_one_per_supporter', ['case_id', 'email_digest'], unique=True,
                              postgresql_where=HELD_APART, sqlite_where=HELD_APART)

    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient_digest', sa.String(length=64), nullable=True))
        batch_op.drop_index('ix_outbound_messages_recipient')
        batch_op.create_index('ix_outbound_messages_recipient_digest', ['recipient_digest', 'created_at'],
                              unique=False)

    # Existing rows get their digest, a thousand at a time.
    digest = _digest_function()
    bind = op.get_bind()
    outbox = sa.table('outbound_messages', sa.column('id'), sa.column('recipient'), sa.column('recipient_digest'))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(outbox.c.id, outbox.c.recipient)
            .where(outbox.c.id > last, outbox.c.recipient != '')
            .order_by(outbox.c.id)
            .limit(1000)
        ).all()
        if not rows:
            break
        bind.execute(
            sa.update(outbox).where(outbox.c.id == sa.bindparam('mid')).values(recipient_digest=sa.bindparam('d')),
            [{'mid': row.id, 'd': digest(row.recipient)} for row in rows],
        )
        last = rows[-1].id


def downgrade():
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_messages_recipient_digest')
        batch_op.create_index('ix_outbound_messages_recipient', ['recipient', 'created_at'], unique=False)
        batch_op.drop_column('recipient_digest')

    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index('ux_appeals_one_per_supporter')
        batch_op.create_unique_constraint('uq_appeals_case_id_email_digest', ['case_id', 'email_digest'])
        batch_op.drop_column('revision')
