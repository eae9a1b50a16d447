"""Shared set-up for the reply-guard and register tests: a rule file, a Privlog that uses
it, and the register's rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from privlog import Privlog
from privlog.config import ContentPolicy, Policy, Settings, StorePolicy
from privlog.detect import DetectionSettings
from privlog.store.database import make_engine
from privlog.store.schema import flagged

RULES = """
version = "2026-11-02"

[[rules]]
id = "fraud-block"
category = "fraud"
action = "block"
keywords = ["counterfeit notes", "假钞制作"]

[[rules]]
id = "fraud-flag"
category = "fraud"
action = "flag"
keywords = ["fake invoice"]

[[rules]]
id = "weapons-out"
category = "weapons"
action = "block"
patterns = ['pipe\\s+bomb\\s+recipe']
applies_to = ["output"]
"""

# A long, harmless opening: longer than the hold-back window, so a stream has released
# part of the reply before the blocked phrase arrives.
PREFIX = (
    "Thanks for the question. I will go through it step by step so that nothing is left "
    "out, starting with some background that is useful whatever you decide to do next. "
)


def privlog_with_rules(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    content: dict[str, Any] | None = None,
    key_file: Path | None = None,
    rules_text: str = RULES,
) -> Privlog:
    """A Privlog (rules-only detection, fast batches) whose ``[content]`` names a rule file
    in ``tmp_path``, written from ``rules_text`` unless it is there already."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    rules = tmp_path / "rules.toml"
    if not rules.exists():
        rules.write_text(rules_text, encoding="utf-8")
    policy = Policy(
        detection=DetectionSettings(model=None),
        store=StorePolicy(batch_interval=0.02),
        content=ContentPolicy(rules_file=rules, **(content or {})),
    )
    return Privlog(
        Settings(
            database_url=database_url or f"sqlite:///{tmp_path / 'privlog.db'}",
            key_file=key_file or tmp_path / "privlog.keys",
            policy=policy,
        )
    )


def register_rows(pl: Privlog) -> list[dict[str, Any]]:
    """Flush and return the register's entries, oldest first."""
    assert pl.flush(10) == 0
    engine = make_engine(pl.settings.database_url)
    try:
        with engine.connect() as conn:
            query = select(flagged).order_by(flagged.c.discovered_at, flagged.c.id)
            return [dict(r) for r in conn.execute(query).mappings()]
    finally:
        engine.dispose()
