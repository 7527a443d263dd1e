"""Schema migrations (Alembic) driven from code, so they run the same from the CLI and from tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from .settings import ROOT


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; idempotent."""
    command.upgrade(alembic_config(database_url), revision)
