"""The evidence report: its numbers reconcile with the rows, it names the clauses, and the
HTML page is self-contained (no script, nothing fetched)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from privlog import cli
from privlog.store.database import make_engine
from privlog.store.schema import records
from tests.audit_support import populate
from tests.storetools import store

CLAUSES = (
    "Interim Measures Art. 11",
    "Interim Measures Art. 14",
    "PIPL Art. 47",
    "PIPL Art. 51",
    "PIPL Art. 73",
    "Cybersecurity Law Art. 21",
)


@pytest.fixture(name="env")
def _env(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", sqlite_url)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
    populate(sqlite_url, 12)
    cs = store(sqlite_url)
    try:  # two records erased: the report must count the erasure
        cs.erase([1, 2], "retention", dt.datetime.now(dt.UTC))
    finally:
        cs.close()
    return sqlite_url


def test_json_report_reconciles_with_the_rows(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    assert cli.main(["report", "--format", "json", "--out", str(out)]) == 0
    assert "chain intact" in capsys.readouterr().out
    report = json.loads(out.read_text(encoding="utf-8"))
    engine = make_engine(env)
    try:
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(select(records)).mappings()]
    finally:
        engine.dispose()
    usage = [r for r in rows if r["kind"] == "usage"]
    counts = report["counts"]
    assert counts["records"] == len(usage) == 12
    assert counts["erased"] == 2
    entities: dict[str, int] = {}
    for r in usage:
        for k, v in json.loads(r["entity_counts"] or "{}").items():
            entities[k] = entities.get(k, 0) + v
    assert counts["entities"] == entities
    assert sum(d["records"] for d in report["days"]) == 12
    assert report["chain"]["ok"] is True
    assert report["chain"]["records"] == len(rows)
    clauses = " ".join(c["clause"] for c in report["controls"])
    assert all(clause in clauses for clause in CLAUSES)
    assert report["configuration"]["retention_classes"][0]["name"] == "usage"
    # No key file here: the report says so and checks checkpoints by their stored keys.
    assert report["keys"]["live"] == []
    assert report["chain"]["checked_against"] == "keys stored with checkpoints"


def test_html_report_is_self_contained_and_shows_a_broken_chain(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    assert cli.main(["report", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<svg" in page
    assert "Chain intact" in page
    assert "<script" not in page.lower()
    assert not re.search(r"(?:src|href)\s*=|url\(|https?://", page)  # nothing to fetch
    assert all(clause in page for clause in CLAUSES)
    engine = make_engine(env)
    try:
        with engine.begin() as conn:
            conn.execute(update(records).where(records.c.seq == 5).values(route="/edited"))
    finally:
        engine.dispose()
    assert cli.main(["report", "--out", str(out)]) == 1
    assert "Chain BROKEN at entry 5" in out.read_text(encoding="utf-8")
    capsys.readouterr()
