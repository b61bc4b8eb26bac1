"""saved audiences, and the marketing role for API keys

Revision ID: 0012_saved_audiences
Revises: 0011_member_name_index
Create Date: 2026-12-02 09:50:30
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_saved_audiences"
down_revision = "0011_member_name_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audience",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience")),
        sa.UniqueConstraint("name", name=op.f("uq_audience_name")),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:  # 'marketing' is 9 long
        batch_op.alter_column("role", existing_type=sa.String(length=7), type_=sa.String(length=20))


def downgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.alter_column("role", existing_type=sa.String(length=20), type_=sa.String(length=7))
    op.drop_table("audience")
