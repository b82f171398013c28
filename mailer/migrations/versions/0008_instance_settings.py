"""settings: saved instance settings (sender identity, rates, tracking default)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=320), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )


def downgrade():
    op.drop_table('settings')
