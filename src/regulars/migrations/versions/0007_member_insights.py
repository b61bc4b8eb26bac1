"""member insights from scoring runs

Revision ID: 0007_member_insights
Revises: 0006_sealed_personal_data
Create Date: 2026-11-23 21:51:52.346814
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_member_insights"
down_revision = "0006_sealed_personal_data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_run")),
    )
    op.create_table(
        "member_insight",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("model_run_id", sa.Integer(), nullable=False),
        sa.Column("rfm_segment", sa.String(length=32), nullable=True),
        sa.Column("shopper_type", sa.String(length=32), nullable=True),
        sa.Column("cluster", sa.String(length=200), nullable=True),
        sa.Column("clv", sa.Float(), nullable=True),
        sa.Column("probability_alive", sa.Float(), nullable=True),
        sa.Column("churn_risk", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_member_insight_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["model_run_id"],
            ["model_run.id"],
            name=op.f("fk_member_insight_model_run_id_model_run"),
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_insight")),
    )
    with op.batch_alter_table("member_insight", schema=None) as batch_op:
        batch_op.create_index("ix_member_insight_churn_risk", ["churn_risk"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_member_insight_model_run_id"), ["model_run_id"], unique=False
        )
        batch_op.create_index("ix_member_insight_segment", ["rfm_segment"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("member_insight", schema=None) as batch_op:
        batch_op.drop_index("ix_member_insight_segment")
        batch_op.drop_index(batch_op.f("ix_member_insight_model_run_id"))
        batch_op.drop_index("ix_member_insight_churn_risk")

    op.drop_table("member_insight")
    op.drop_table("model_run")
