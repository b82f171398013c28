"""mailings: second-person approval (requires_approval, approved_by, approved_at)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Mailings created before approval existed need none; the server defaults fill their rows.
    with op.batch_alter_table('mailings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requires_approval', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('approved_by', sa.String(length=320), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('mailings', schema=None) as batch_op:
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approved_by')
        batch_op.drop_column('requires_approval')
