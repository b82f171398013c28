"""deliveries: indexes free of the columns sending changes, and room on every page

Sending moves each delivery through three updates (claimed, sending, its outcome). The claim
index held ``status`` and ``next_attempt_at``, so on PostgreSQL every one of those updates
wrote a new entry into each of the table's five indexes. Now no index holds a column that
sending changes, and pages are filled to half at the freeze, so the updates are heap-only
(HOT): the row's new version goes on its own page and no index is touched.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

FILLFACTOR = 50  # mailer.dispatch.models.DELIVERIES_FILLFACTOR when this was written


def upgrade():
    due = sa.text('next_attempt_at IS NOT NULL')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_mailing_order', ['mailing_id', 'id'], unique=False)
        batch_op.create_index('ix_deliveries_due', ['mailing_id', 'next_attempt_at', 'id'],
                              unique=False, postgresql_where=due, sqlite_where=due)
        batch_op.drop_index('ix_deliveries_claim')
    if op.get_bind().dialect.name == 'postgresql':
        # Applies to pages written from now on (every later freeze); existing rows stay put.
        op.execute(f'ALTER TABLE deliveries SET (fillfactor = {FILLFACTOR})')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE deliveries RESET (fillfactor)')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_claim',
                              ['mailing_id', 'status', 'next_attempt_at', 'id'], unique=False)
        batch_op.drop_index('ix_deliveries_due')
        batch_op.drop_index('ix_deliveries_mailing_order')
