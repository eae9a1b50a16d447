"""Alembic environment for privlog's own tables (installed as privlog.migrations).

privlog shares the host's database, so it keeps its own version table and only ever
compares, creates or drops tables whose names start with ``privlog_``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from privlog.store.migrate import VERSION_TABLE, include_name
from privlog.store.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from privlog.store.database import make_engine

    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("privlog migrations run online only: use `privlog db upgrade`")
run_migrations()
