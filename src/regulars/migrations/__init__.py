"""Alembic migrations, shipped inside the package so an installed `regulars` can migrate."""
