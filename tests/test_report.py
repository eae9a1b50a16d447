"""The evidence report: its numbers reconcile with the rows (records, the register and the
content decisions), it names the clauses, and the HTML page is self-contained (no script,
nothing fetched). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from privlog import cli
from privlog.store.database import make_engine
from privlog.store.schema import flagged, now_iso, records
from tests.audit_support import ALLOWED, NEW_RULES, OLD_RULES, PLANTED, populate
from tests.storetools import store

CLAUSES = (
    "Interim Measures Art. 11",
    "Interim Measures Art. 14",
    "PIPL Art. 47",
    "PIPL Art. 51",
    "PIPL Art. 73",
    "Cybersecurity Law Art. 21",
)


RECORDS = 12
ERASED = (0, 1)  # populate()'s first two usage records (seq 1 and 2) are erased


@pytest.fixture(name="env")
def _env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", db_url)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
    populate(db_url, RECORDS)
    cs = store(db_url)
    try:  # two records erased: the report must count the erasure
        cs.erase([i + 1 for i in ERASED], "retention", dt.datetime.now(dt.UTC))
    finally:
        cs.close()
    return db_url


def _report(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "report.json"
    assert cli.main(["report", "--format", "json", "--out", str(out), *args]) == 0
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report


def _html(tmp_path: Path, *args: str) -> str:
    out = tmp_path / "report.html"
    assert cli.main(["report", "--out", str(out), *args]) == 0
    return out.read_text(encoding="utf-8")


def _rows(url: str, table: Any) -> list[dict[str, Any]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(table)).mappings()]
    finally:
        engine.dispose()


def _scalar(url: str, sql: str, **params: Any) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one())
    finally:
        engine.dispose()


def _expected_versions(indices: list[int], in_force: str | None = None) -> list[dict[str, Any]]:
    """What the report should say of the content decisions of usage records ``indices``,
    worked out from what populate() planted (not from the stored JSON)."""
    tally: dict[str, Counter[str]] = {}
    for i in indices:
        if i in ALLOWED:
            tally.setdefault(NEW_RULES, Counter())["allow"] += 1
        for entry in (p for p in PLANTED if p.record == i):
            tally.setdefault(entry.ruleset, Counter())[entry.action] += 1
            if entry.input_ruleset:  # the input, allowed under the rules before a reload
                tally.setdefault(entry.input_ruleset, Counter())["allow"] += 1
    return [
        {
            "version": version,
            "records": sum(c.values()),
            "flagged": c["flag"],
            "blocked": c["block"],
            "in_force": version == in_force,
        }
        for version, c in sorted(tally.items())
    ]


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


def test_flagged_content_reconciles_with_the_register(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _report(tmp_path)
    capsys.readouterr()
    flagged_counts = report["counts"]["flagged_content"]
    stored = _rows(env, flagged)
    now = now_iso()
    # Each number against a direct count of the stored rows.
    assert flagged_counts["total"] == len(stored) == len(PLANTED)
    assert flagged_counts["open"] == _scalar(
        env, "SELECT count(*) FROM privlog_flagged WHERE status = 'open'"
    )
    assert flagged_counts["remediated"] == _scalar(
        env, "SELECT count(*) FROM privlog_flagged WHERE status = 'remediated'"
    )
    overdue = _scalar(
        env,
        "SELECT count(*) FROM privlog_flagged WHERE status = 'open' AND remediation_due < :now",
        now=now,
    )
    assert flagged_counts["overdue"] == overdue == sum(p.overdue for p in PLANTED) == 2
    assert flagged_counts["regenerated"] == _scalar(
        env, "SELECT count(*) FROM privlog_flagged WHERE related_to IS NOT NULL"
    )
    assert flagged_counts["by_category"] == dict(
        sorted(Counter(r["category"] for r in stored).items())
    )
    assert flagged_counts["by_direction"] == {"input": 3, "output": 3}
    # The erasure blanked two records' content, not the register: evidence outlives them.
    assert report["counts"]["erased"] == 2
    art14 = next(c for c in report["controls"] if "Art. 14" in c["clause"])
    assert "counts.flagged_content" in art14["evidence"]


def test_rule_set_versions_reconcile_with_the_records(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _report(tmp_path)
    capsys.readouterr()
    kept = [i for i in range(RECORDS) if i not in ERASED]
    versions = report["counts"]["ruleset_versions"]
    assert versions == _expected_versions(kept)
    assert [v["version"] for v in versions] == [OLD_RULES, NEW_RULES]
    # Every usage record with a content decision is counted once per version it was
    # checked under: one record's input and reply straddle a reload of the rules.
    decided = _scalar(
        env,
        "SELECT count(*) FROM privlog_records WHERE kind = 'usage' AND content IS NOT NULL",
    )
    assert decided == 6
    assert sum(v["records"] for v in versions) == decided + 1
    assert versions[0] == {
        "version": OLD_RULES,
        "records": 2,
        "flagged": 0,
        "blocked": 1,  # the reply blocked under the new rules; the input was allowed
        "in_force": False,
    }
    # The blocked and flagged totals match the stored decisions' top-level actions.
    stored = [json.loads(r["content"]) for r in _rows(env, records) if r["content"]]
    assert sum(v["blocked"] for v in versions) == sum(c["action"] == "block" for c in stored)
    assert sum(v["flagged"] for v in versions) == sum(c["action"] == "flag" for c in stored)


def test_report_period_splits_the_register_and_the_decisions(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = _rows(env, flagged)
    # Cut at the oldest of the three recent entries (the other three are 95+ days old).
    recent_ids = {p.id for p in PLANTED if p.age_days < 90}
    cut = min(r["discovered_at"] for r in stored if r["id"] in recent_ids)
    after = _report(tmp_path, "--since", cut)["counts"]
    before = _report(tmp_path, "--until", cut)["counts"]
    capsys.readouterr()
    recent = [r for r in stored if r["discovered_at"] >= cut]
    assert after["flagged_content"]["total"] == len(recent) == 3
    assert (after["flagged_content"]["overdue"], after["flagged_content"]["regenerated"]) == (0, 1)
    assert before["flagged_content"]["total"] == 3
    assert (before["flagged_content"]["overdue"], before["flagged_content"]["remediated"]) == (2, 1)
    assert after["flagged_content"]["total"] + before["flagged_content"]["total"] == len(stored)
    # Records are cut by their own time stamps.
    times = {r["seq"]: r["ts"] for r in _rows(env, records) if r["kind"] == "usage"}
    kept = [i for i in range(RECORDS) if i not in ERASED]
    assert after["ruleset_versions"] == _expected_versions([i for i in kept if times[i + 1] >= cut])
    assert before["ruleset_versions"] == _expected_versions([i for i in kept if times[i + 1] < cut])


def test_html_report_shows_overdue_and_flagged_categories(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = _html(tmp_path)
    assert re.search(
        r"<td>flagged content: overdue \(open past the remediation deadline\)</td>"
        r'<td class="bad">2 OVERDUE</td>',
        page,
    )
    assert '<p class="bad">2 flagged-content entries are open past their' in page
    assert (
        "<td>flagged content: register entries</td><td>6 (content rules not configured)" not in page
    )
    assert "<td>flagged content: register entries</td><td>6</td>" in page
    assert "<td>flagged content: regenerated copies caught</td><td>1</td>" in page
    chart = re.search(r'<svg role="img" aria-label="Flagged content by category".*?</svg>', page)
    assert chart is not None
    assert [int(v) for v in re.findall(r">(\d+)</text>", chart.group(0))] == [2, 2, 2]
    assert re.findall(r'<text x="0" y="\d+">([^<]+)</text>', chart.group(0)) == [
        "extremism",
        "fraud",
        "violence",
    ]
    assert (
        f"{OLD_RULES}: 2 records, 0 flagged, 1 blocked; {NEW_RULES}: 5 records, 1 flagged, "
        "2 blocked" in page
    )
    assert "<script" not in page.lower()
    assert not re.search(r"(?:src|href)\s*=|url\(|https?://", page)
    # Nothing overdue before the entries were discovered: marked ok, no warning.
    quiet = _html(tmp_path, "--until", "2001-01-01T00:00:00+00:00")
    capsys.readouterr()
    assert '<td class="ok">0</td>' in quiet
    assert "past their remediation deadline" not in quiet
    assert "Flagged content by category: no data" in quiet
    assert "none (no record in the period was checked against content rules)" in quiet


def test_report_names_the_rule_set_in_force_and_escapes_categories(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        f'version = "{NEW_RULES}"\n\n[[rules]]\nid = "fraud-1"\ncategory = "fraud"\n'
        'action = "block"\nkeywords = ["fake invoice"]\n',
        encoding="utf-8",
    )
    policy = tmp_path / "privlog.toml"
    policy.write_text(f"[content]\nrules_file = {json.dumps(str(rules))}\n", encoding="utf-8")
    monkeypatch.setenv("PRIVLOG_CONFIG", str(policy))
    engine = make_engine(env)
    try:
        with engine.begin() as conn:  # a category is operator text: escaped like any other
            conn.execute(
                update(flagged).where(flagged.c.id == PLANTED[0].id).values(category="a<b>&c")
            )
    finally:
        engine.dispose()
    report = _report(tmp_path)
    assert report["configuration"]["content_rules"]["version"] == NEW_RULES
    kept = [i for i in range(RECORDS) if i not in ERASED]
    assert report["counts"]["ruleset_versions"] == _expected_versions(kept, in_force=NEW_RULES)
    assert report["counts"]["flagged_content"]["by_category"]["a<b>&c"] == 1
    page = _html(tmp_path)
    capsys.readouterr()
    assert f"{NEW_RULES} (in force): 5 records" in page
    assert f"version {NEW_RULES}, 1 rules" in page
    assert "a&lt;b&gt;&amp;c" in page
    assert "a<b>" not in page


def test_report_on_a_database_without_the_register(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(env)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE privlog_flagged"))
            assert conn.execute(select(func.count()).select_from(records)).scalar_one() > 0
    finally:
        engine.dispose()
    report = _report(tmp_path)
    assert report["counts"]["flagged_content"] is None  # unknown, not "nothing flagged"
    assert report["counts"]["ruleset_versions"]  # the records still say what was checked
    page = _html(tmp_path)
    capsys.readouterr()
    assert "no register in this database (before migration 0007)" in page
    assert "Flagged content by category: no data" in page


def test_report_lists_the_identity_policy_and_consent_counts(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from privlog import Subject
    from tests.adapters_support import make_privlog
    from tests.storetools import migrated

    url = migrated(db_url)
    pl = make_privlog(tmp_path, database_url=url)
    pl.grant_consent("a")
    pl.grant_consent("b")
    pl.revoke_consent("b")
    pl.log_input({"q": "1"}, route="/v1/chat", subject=Subject("a", verified=True, method="mobile"))
    pl.log_input({"q": "2"}, route="/v1/chat", subject="b")
    refused = Subject("c", verified=False)
    pl.log_input(
        {}, route="/v1/chat", subject=refused, outcome="blocked", flags={"identity_refused"}
    )
    assert pl.flush(10) == 0
    pl.close()
    config = tmp_path / "policy.toml"
    config.write_text(
        '[identity]\nrequire_verified_identity = ["/v1/*"]\naccepted_methods = ["mobile"]\n'
    )
    monkeypatch.setenv("PRIVLOG_DATABASE_URL", url)
    monkeypatch.setenv("PRIVLOG_KEY_FILE", str(tmp_path / "privlog.keys"))
    monkeypatch.setenv("PRIVLOG_CONFIG", str(config))
    report = _report(tmp_path)
    assert report["configuration"]["identity"] == {
        "require_verified_identity": ["/v1/*"],
        "accepted_methods": ["mobile"],
    }
    assert report["counts"]["identity"] == {
        "records": {"not reported": 1, "unverified": 1, "verified (mobile)": 1},
        "refused": 1,
    }
    consent = report["counts"]["training_consent"]
    assert (consent["subjects_consenting"], consent["subjects_revoked"]) == (1, 1)
    assert (consent["grants"], consent["revokes"]) == (2, 1)
    assert consent["period_records_with_consent"] == 1
    assert report["counts"]["subject_requests"] == {"consent_grant": 2, "consent_revoke": 1}
    assert any("Cybersecurity Law Art. 24" in c["clause"] for c in report["controls"])
    page = _html(tmp_path)
    assert "/v1/*; methods accepted: mobile" in page
    assert "<td>users consenting to training use now</td><td>1</td>" in page
