"""Alembic environment: runs migrations on the engine the caller hands over."""

from typing import Any, Literal

from alembic import context
from sqlalchemy.types import TypeDecorator

import regulars.tables  # noqa: F401  (registers every table on Base.metadata)
from regulars.db import Base


def render_item(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Write our column types as the plain SQL types they store, so migrations stay frozen."""
    if kind == "type" and isinstance(item, TypeDecorator):
        autogen_context.imports.add("import sqlalchemy as sa")
        return f"sa.{item.impl_instance!r}"
    return False


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
