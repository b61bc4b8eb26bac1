"""stamps of rarely changing data

Revision ID: 0008_stamps
Revises: 0007_member_insights
Create Date: 2026-12-02 04:40:55.317957
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_stamps"
down_revision = "0007_member_insights"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stamp",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_stamp")),
    )


def downgrade() -> None:
    op.drop_table("stamp")
