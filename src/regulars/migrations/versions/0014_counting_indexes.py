"""indexes that count a member's referrals and a template's coupons without reading all

Revision ID: 0014_counting_indexes
Revises: 0013_campaigns
Create Date: 2026-12-02 10:26:00
"""

from alembic import op

revision = "0014_counting_indexes"
down_revision = "0013_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_member_referred_by_id"), "member", ["referred_by_id"], unique=False)
    op.create_index("ix_coupon_template_status", "coupon", ["template_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_coupon_template_status", table_name="coupon")
    op.drop_index(op.f("ix_member_referred_by_id"), table_name="member")
