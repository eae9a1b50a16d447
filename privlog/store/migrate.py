"""Running privlog's migrations from code (``privlog.migrate``) and checking the revision."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy import Connection, Engine, column, inspect, select, table

__all__ = ["VERSION_TABLE", "current_revision", "head_revision", "include_name", "migrate"]

VERSION_TABLE = "privlog_alembic_version"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter: privlog compares, creates and drops only ``privlog_*`` tables."""
    if type_ == "table":
        return bool(name) and str(name).startswith("privlog_")
    return True


def _config() -> object:
    from alembic.config import Config

    # Resolved from the installed package (adapters/ and migrations/ are mapped into the
    # privlog namespace at build time), so it works from a wheel and an editable install.
    spec = importlib.util.find_spec("privlog.migrations")
    if spec is None or spec.origin is None:
        raise RuntimeError("privlog.migrations is not installed; reinstall privlog")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(spec.origin).parent))
    return cfg


def migrate(bind: Engine | Connection, revision: str = "head") -> None:
    """Upgrade privlog's tables on ``bind`` (an engine or a connection) to ``revision``.

    Only ``privlog_*`` tables and the ``privlog_alembic_version`` table are touched, so this
    is safe on a database the host application also migrates with Alembic.
    """
    from alembic import command

    cfg = _config()
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            cfg.attributes["connection"] = connection  # type: ignore[attr-defined]
            command.upgrade(cfg, revision)  # type: ignore[arg-type]
    else:
        cfg.attributes["connection"] = bind  # type: ignore[attr-defined]
        command.upgrade(cfg, revision)  # type: ignore[arg-type]


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()  # type: ignore[arg-type]
    return str(head)


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    version = table(VERSION_TABLE, column("version_num"))
    row = connection.execute(select(version.c.version_num)).first()
    return None if row is None else str(row[0])
