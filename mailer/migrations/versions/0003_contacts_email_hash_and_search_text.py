"""contacts: email hash (joins suppressions), search text (case-insensitive search), name index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 21:18:43.694608

"""
import hashlib

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BATCH = 1000


def _backfill():
    """Fill the derived columns of existing contacts (frozen copies of the model's rules)."""
    contacts = sa.table('contacts', sa.column('id', sa.Integer), sa.column('email', sa.String),
                        sa.column('email_key', sa.String), sa.column('first_name', sa.String),
                        sa.column('last_name', sa.String), sa.column('outlet', sa.String),
                        sa.column('email_hash', sa.String), sa.column('search_text', sa.Text))
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(contacts.c.id, contacts.c.email, contacts.c.email_key,
                      contacts.c.first_name, contacts.c.last_name, contacts.c.outlet)
            .where(contacts.c.id > last_id).order_by(contacts.c.id).limit(BATCH)).all()
        if not rows:
            return
        connection.execute(
            contacts.update().where(contacts.c.id == sa.bindparam('row_id')),
            [{'row_id': row.id,
              'email_hash': hashlib.sha256(row.email_key.encode('utf-8')).hexdigest(),
              'search_text': ' '.join(part for part in (row.first_name, row.last_name,
                                                         row.email, row.outlet) if part).casefold()}
             for row in rows])
        last_id = rows[-1].id


def upgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=True))
    _backfill()
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.alter_column('email_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('search_text', existing_type=sa.Text(), nullable=False)
        batch_op.create_index(batch_op.f('ix_contacts_email_hash'), ['email_hash'], unique=False)
        batch_op.create_index('ix_contacts_name', ['last_name', 'first_name'], unique=False)


def downgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_name')
        batch_op.drop_index(batch_op.f('ix_contacts_email_hash'))
        batch_op.drop_column('search_text')
        batch_op.drop_column('email_hash')
