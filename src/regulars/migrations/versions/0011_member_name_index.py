"""members found by name: a blind index of the normalised name

Revision ID: 0011_member_name_index
Revises: 0010_staff_users
Create Date: 2026-12-02 09:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_member_name_index"
down_revision = "0010_staff_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_index", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_member_name_index"), ["name_index"], unique=False)
    _index_existing_names()


def _index_existing_names() -> None:
    """Members stored before this revision get the index of the name they have."""
    from regulars.members.protection import keyring
    from regulars.members.rules import name_key

    ring = keyring()
    member = sa.table("member", sa.column("id"), sa.column("name"), sa.column("name_index"))
    bind = op.get_bind()
    named = bind.execute(
        sa.select(member.c.id, member.c.name).where(member.c.name.is_not(None))
    ).all()
    for row in named:
        key = name_key(ring.open(row.name))
        bind.execute(
            member.update()
            .where(member.c.id == row.id)
            .values(name_index=ring.index("name", key) if key else None)
        )


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_name_index"))
        batch_op.drop_column("name_index")
