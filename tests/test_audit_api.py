"""The auditor API: who may read what, that nothing can be written, and that every read
is recorded in a chain of its own. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from privlog.audit.app import create_app
from privlog.audit.connections import log_engine, read_engine
from privlog.config import Settings
from privlog.errors import AuditSetupError
from privlog.store import register
from privlog.store.database import make_engine
from privlog.store.schema import access_log, audit_tokens, flagged, now_iso, records
from tests.audit_support import (
    ENTRY,
    PLANTED,
    Tokens,
    auditor_settings,
    bearer,
    make_tokens,
    populate,
)
from tests.reliability_support import Report

RECORDS = 12  # usage records written by populate(); half per tenant
BETA_ENTRY = ENTRY["b-open"].id  # a register entry of tenant beta
ROUTES = (
    "/v1/records",
    "/v1/records/2",
    "/v1/records/export?format=csv",
    "/v1/stats",
    "/v1/chain/verify",
    "/v1/checkpoints",
    "/v1/checkpoints/public-key",
    "/v1/access-log",
    "/v1/access-log/verify",
    "/v1/flagged",
    "/v1/flagged/stats",
    f"/v1/flagged/{BETA_ENTRY}",
)
# The routes above as the OpenAPI document names them.
TEMPLATES = {
    "/v1/records/2": "/v1/records/{seq}",
    f"/v1/flagged/{BETA_ENTRY}": "/v1/flagged/{entry_id}",
}
OTHER_TENANT = ("/v1/records/2", f"/v1/flagged/{BETA_ENTRY}")  # what an acme token cannot see
PUBLIC = ("/", "/healthz", "/openapi.json", "/assets/dashboard.js")


@pytest.fixture(name="audit")
def _audit(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Tokens, Settings]]:
    populate(db_url, RECORDS)
    tokens = make_tokens(db_url)
    with auditor_settings(db_url, tmp_path) as settings:
        app = create_app(settings)
        with TestClient(app) as client:
            yield client, tokens, settings
        app_service(app).close()


def app_service(app: Any) -> Any:
    inner = app
    while not hasattr(inner, "state"):
        inner = inner.app
    return inner.state.privlog_audit


def _log_rows(settings: Settings) -> list[dict[str, Any]]:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return [
                dict(r)
                for r in conn.execute(select(access_log).order_by(access_log.c.seq)).mappings()
            ]
    finally:
        engine.dispose()


# --- authorisation ---------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_authorisation_matrix(audit: tuple[TestClient, Tokens, Settings], route: str) -> None:
    client, tokens, _ = audit
    refused = {
        "none": {},
        "malformed": {"Authorization": "Bearer not-a-token"},
        "wrong scheme": {"Authorization": f"Basic {tokens.valid}"},
        "bad secret": bearer(tokens.valid[:-4] + "AAAA"),
        "expired": bearer(tokens.expired),
        "revoked": bearer(tokens.revoked),
    }
    for case, headers in refused.items():
        response = client.get(route, headers=headers)
        assert response.status_code == 401, case
        assert response.headers["www-authenticate"] == "Bearer"
        assert "records" not in response.json()
    assert client.get(route, headers=bearer(tokens.valid)).status_code == 200
    # Record 2 and the entry belong to tenant beta (populate alternates acme, beta).
    scoped = client.get(route, headers=bearer(tokens.acme))
    assert scoped.status_code == (404 if route in OTHER_TENANT else 200)
    assert client.get(route, headers=bearer(tokens.beta)).status_code == 200


def test_tenant_token_sees_only_its_tenant(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, tokens, _ = audit
    everything = client.get("/v1/records?kind=usage", headers=bearer(tokens.valid)).json()
    assert {r["tenant"] for r in everything["records"]} == {"acme", "beta"}
    acme = client.get("/v1/records", headers=bearer(tokens.acme)).json()["records"]
    assert len(acme) == RECORDS // 2
    assert {r["tenant"] for r in acme} == {"acme"}
    assert client.get("/v1/records?tenant=beta", headers=bearer(tokens.acme)).status_code == 403
    export = client.get("/v1/records/export?format=jsonl", headers=bearer(tokens.acme)).text
    assert {json.loads(line)["tenant"] for line in export.splitlines()} == {"acme"}
    stats = client.get("/v1/stats", headers=bearer(tokens.acme)).json()
    assert stats["totals"]["records"] == RECORDS // 2
    log = client.get("/v1/access-log", headers=bearer(tokens.acme)).json()["entries"]
    assert log
    assert {e["tenant"] for e in log} == {"acme"}


def test_every_other_method_is_refused(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, tokens, _ = audit
    paths = [r.split("?")[0] for r in ROUTES] + list(PUBLIC) + ["/nowhere", "/v1/records/1/x"]
    paths.append(f"/v1/flagged/{ENTRY['a-output'].id}/remediate")
    for path in paths:
        for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"):
            response = client.request(method, path, headers=bearer(tokens.valid))
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == "GET, HEAD"
            assert "access-control-allow-origin" not in response.headers
        assert client.head(path, headers=bearer(tokens.valid)).status_code != 405


def test_openapi_lists_read_operations_only(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, _, _ = audit
    document = client.get("/openapi.json").json()
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert {method for _, method in operations} == {"get"}
    assert {path for path, _ in operations} >= {
        TEMPLATES.get(r.split("?")[0], r.split("?")[0]) for r in ROUTES
    }
    for path, item in document["paths"].items():
        if path.startswith("/v1/"):
            assert item["get"]["security"], path  # every /v1 operation declares the bearer
            assert item["get"]["summary"], path
            assert {"401", "403", "422", "503"} <= set(item["get"]["responses"]), path
    listing = document["paths"]["/v1/flagged"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "status",
        "overdue",
        "category",
        "direction",
        "tenant",
        "since",
        "until",
        "related_to",
        "cursor",
        "limit",
    }
    assert "404" in document["paths"]["/v1/flagged/{entry_id}"]["get"]["responses"]
    # A listed entry's id leads to the entry (an OpenAPI link, followed by test tools).
    link = listing["responses"]["200"]["links"]["FirstEntry"]
    assert link["operationRef"] == "#/paths/~1v1~1flagged~1{entry_id}/get"
    assert link["parameters"] == {"entry_id": "$response.body#/entries/0/id"}


def test_public_routes_and_headers(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, _, _ = audit
    for path in PUBLIC:
        response = client.get(path, headers={"Origin": "https://elsewhere.example"})
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "default-src 'none'" in csp
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "access-control-allow-origin" not in response.headers
    assert client.get("/healthz").json()["read_only"] is True
    assert client.get("/docs").status_code == 404  # the CDN-loading docs pages are off


# --- queries ---------------------------------------------------------------------------


def test_invalid_parameters_answer_422(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, tokens, _ = audit
    for query in (
        "/v1/records?limit=0",
        "/v1/records?limit=1001",
        "/v1/records?cursor=-1",
        "/v1/records?since=yesterday",
        "/v1/records?until=0.5",
        "/v1/records?entity=email",
        "/v1/records?outcome=maybe",
        "/v1/records?flag=secret",
        "/v1/records?rout=/v1/chat",  # a misspelt filter must not widen the result
        "/v1/records?route=a%00b",
        "/v1/records/0",
        "/v1/records/99999999999999999999",
        "/v1/records/export?format=xml",
        "/v1/chain/verify?from_seq=0",
        "/v1/stats?order=desc",
        "/healthz?x=1",
        "/v1/flagged?status=closed",
        "/v1/flagged?overdue=maybe",
        "/v1/flagged?direction=sideways",
        "/v1/flagged?since=yesterday",
        "/v1/flagged?limit=1001",
        "/v1/flagged?cursor=42",
        "/v1/flagged?related_to=" + "A" * 32,  # ids are lower-case hex
        "/v1/flagged?categroy=fraud",  # misspelt
        "/v1/flagged?category=a%00b",
        "/v1/flagged?order=desc",  # the register has one order, newest first
        "/v1/flagged/stats?limit=5",  # counts are not paginated
        "/v1/flagged/stats?overdue=soon",
        "/v1/flagged/" + "0" * 31,
        "/v1/flagged/" + ENTRY["a-output"].id.upper(),
        "/v1/flagged/" + "g" * 32,
    ):
        response = client.get(query, headers=bearer(tokens.valid))
        assert response.status_code == 422, query
        assert response.json()["detail"][0]["msg"]
    # Without a token a caller learns nothing about the parameters, only 401.
    assert client.get("/v1/flagged?overdue=maybe").status_code == 401
    assert client.get("/v1/flagged/" + "g" * 32).status_code == 401


def test_filters_and_cursor_pagination(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, tokens, _ = audit
    auth = bearer(tokens.valid)
    seen: list[int] = []
    cursor: int | None = None
    while True:
        query = "/v1/records?kind=usage&limit=5" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=auth).json()
        seen += [r["seq"] for r in page["records"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(1, RECORDS + 1))
    newest = client.get("/v1/records?order=desc&limit=3", headers=auth).json()["records"]
    assert [r["seq"] for r in newest] == sorted((r["seq"] for r in newest), reverse=True)

    def count(query: str) -> int:
        return len(
            client.get(f"/v1/records?kind=usage&limit=1000&{query}", headers=auth).json()["records"]
        )

    assert count("outcome=blocked") == RECORDS // 3
    assert count("flag=truncated") == RECORDS // 4
    assert count("entity=PERSON") == RECORDS  # key present (count 0 or 1)
    assert count("entity=PHONE_NUMBER") == 0
    assert count("until=2026-01-03T00:00:00Z") == 3
    assert count("since=2026-01-03") == RECORDS - 3
    assert count("route=/v1/chat") == RECORDS - 1
    one = client.get("/v1/records/4", headers=auth).json()
    assert one["seq"] == 4
    assert one["entity_counts"] == {"EMAIL_ADDRESS": 1, "PERSON": 1}


def test_export_streams_every_match(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, tokens, _ = audit
    auth = bearer(tokens.valid)
    lines = client.get("/v1/records/export?kind=usage", headers=auth).text.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, RECORDS + 1))
    response = client.get("/v1/records/export?format=csv&kind=usage", headers=auth)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == RECORDS
    assert rows[5]["route"] == "'=HYPERLINK(1)"  # a formula is defused, not run
    assert json.loads(rows[0]["entity_counts"]) == {"EMAIL_ADDRESS": 1, "PERSON": 0}


def test_stats_reconcile_with_the_rows(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, tokens, _ = audit
    stats = client.get("/v1/stats", headers=bearer(tokens.valid)).json()
    days = {d["day"]: d for d in stats["days"]}
    assert days["2026-01-02"]["records"] == 3
    assert sum(d["records"] for d in stats["days"]) == stats["totals"]["records"] == RECORDS
    totals = stats["totals"]
    assert totals["entities"] == {"EMAIL_ADDRESS": RECORDS, "PERSON": RECORDS // 2}
    assert totals["outcomes"] == {"blocked": 4, "forwarded": 4, "logged": 4}
    assert totals["egress"] == {"scrub": 4}
    assert totals["rescan_hits"] == RECORDS // 2
    assert totals["drops"] == 5  # the last running total of the one writer
    early = client.get("/v1/stats?until=2026-01-03T00:00:00Z", headers=bearer(tokens.valid))
    assert early.json()["totals"]["records"] == 3


def test_chain_verify_reports_tampering(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, tokens, settings = audit
    auth = bearer(tokens.valid)
    report = client.get("/v1/chain/verify", headers=auth).json()
    assert report["ok"] is True
    assert report["records"] == RECORDS + 2
    assert report["checkpoints"] >= 1
    assert RECORDS <= report["last_checkpoint"]["seq"] <= RECORDS + 2
    assert client.get("/v1/chain/verify?from_seq=4&to_seq=9", headers=auth).json()["records"] == 6
    keys = client.get("/v1/checkpoints/public-key", headers=auth).json()
    assert keys["keys"][0]["public_key"] == report["last_checkpoint"]["public_key"]
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(update(records).where(records.c.seq == 7).values(outcome="blocked"))
    finally:
        engine.dispose()
    broken = client.get("/v1/chain/verify", headers=auth).json()
    assert broken["ok"] is False
    assert broken["problem"]["seq"] == 7
    assert client.get("/v1/chain/verify?to_seq=6", headers=auth).json()["ok"] is True


# --- the flagged-content register ----------------------------------------------------------


def _register_rows(settings: Settings) -> list[dict[str, Any]]:
    """The register as stored, read with the owner's connection (not the API's)."""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(flagged)).mappings()]
    finally:
        engine.dispose()


def _tally(rows: list[dict[str, Any]], now: str) -> dict[str, Any]:
    """register.counts worked out by hand from stored rows."""
    late = [r for r in rows if r["status"] == "open" and r["remediation_due"] < now]
    return {
        "total": len(rows),
        "open": sum(r["status"] == "open" for r in rows),
        "remediated": sum(r["status"] == "remediated" for r in rows),
        "overdue": len(late),
        "regenerated": sum(r["related_to"] is not None for r in rows),
        "by_category": dict(sorted(Counter(r["category"] for r in rows).items())),
        "by_direction": dict(sorted(Counter(r["direction"] for r in rows).items())),
    }


def _newest_first(rows: list[dict[str, Any]]) -> list[str]:
    return [
        r["id"] for r in sorted(rows, key=lambda r: (r["discovered_at"], r["id"]), reverse=True)
    ]


def _ids(client: TestClient, token: str, query: str = "") -> list[str]:
    response = client.get(f"/v1/flagged?limit=1000&{query}", headers=bearer(token))
    assert response.status_code == 200, (query, response.text)
    assert response.json()["next_cursor"] is None
    return [e["id"] for e in response.json()["entries"]]


def test_flagged_entries_match_the_register(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, tokens, settings = audit
    stored = _register_rows(settings)
    assert len(stored) == len(PLANTED)  # written with their records by the chain writer
    body = client.get("/v1/flagged", headers=bearer(tokens.valid)).json()
    assert [e["id"] for e in body["entries"]] == _newest_first(stored)
    assert body["next_cursor"] is None
    by_id = {r["id"]: r for r in stored}
    for entry in body["entries"]:
        assert "signature" not in entry  # long, and useless to a reader
        row = by_id[entry["id"]]
        assert {k: v for k, v in row.items() if k != "signature"} == {
            k: v for k, v in entry.items() if k != "overdue"
        }
    overdue = {e["id"]: e["overdue"] for e in body["entries"]}
    assert overdue == {p.id: p.overdue for p in PLANTED}
    assert sum(overdue.values()) == 2
    one = client.get(f"/v1/flagged/{ENTRY['a-copy'].id}", headers=bearer(tokens.valid)).json()
    assert one["related_to"] == ENTRY["a-output"].id
    assert one["rule_id"] == "near-duplicate"
    assert one["overdue"] is False
    assert "signature" not in one
    assert one["excerpt"] == by_id[one["id"]]["excerpt"]  # as stored: escaping is the reader's
    remediated = client.get(f"/v1/flagged/{ENTRY['b-remediated'].id}", headers=bearer(tokens.valid))
    assert remediated.json()["status"] == "remediated"
    assert remediated.json()["overdue"] is False  # past due, but dealt with
    unknown = client.get("/v1/flagged/" + "0" * 32, headers=bearer(tokens.valid))
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=open", [p.name for p in PLANTED if not p.remediated]),
        ("status=remediated", ["b-remediated"]),
        ("overdue=true", ["a-overdue", "b-overdue"]),
        ("overdue=false", ["b-remediated", "a-output", "a-copy", "b-open"]),
        ("category=fraud", ["a-overdue", "b-remediated"]),
        ("category=nothing-like-it", []),
        ("direction=output", ["a-output", "b-overdue", "a-copy"]),
        ("direction=input&status=open", ["a-overdue", "b-open"]),
        (f"related_to={ENTRY['a-output'].id}", ["a-copy"]),
        ("tenant=beta", ["b-remediated", "b-overdue", "b-open"]),
        ("tenant=beta&overdue=true", ["b-overdue"]),
    ],
)
def test_flagged_filters(
    audit: tuple[TestClient, Tokens, Settings], query: str, expected: list[str]
) -> None:
    client, tokens, settings = audit
    ids = _ids(client, tokens.valid, query)
    assert sorted(ids) == sorted(ENTRY[name].id for name in expected)
    # The counts for the same filter agree with the list and with the stored rows.
    stats = client.get(f"/v1/flagged/stats?{query}", headers=bearer(tokens.valid)).json()
    rows = [r for r in _register_rows(settings) if r["id"] in set(ids)]
    assert stats == _tally(rows, now_iso())


def test_flagged_time_window(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, tokens, settings = audit
    stored = _register_rows(settings)
    cut = next(r["discovered_at"] for r in stored if r["id"] == ENTRY["a-overdue"].id)
    since = _ids(client, tokens.valid, f"since={quote(cut)}")
    until = _ids(client, tokens.valid, f"until={quote(cut)}")
    assert sorted(since) == sorted(r["id"] for r in stored if r["discovered_at"] >= cut)
    assert until == [ENTRY["b-remediated"].id]  # exclusive: the cut entry is in "since"
    assert ENTRY["a-overdue"].id in since
    # Other spellings of the same moment: a Z suffix, an offset, a naive (UTC) time.
    plus_eight = (
        client.get(f"/v1/flagged/{ENTRY['a-overdue'].id}", headers=bearer(tokens.valid))
        .json()["discovered_at"]
        .replace("+00:00", "Z")
    )
    assert _ids(client, tokens.valid, f"until={quote(plus_eight)}") == until
    assert _ids(client, tokens.valid, f"until={quote(cut[:26])}") == until
    stats = client.get(f"/v1/flagged/stats?until={quote(cut)}", headers=bearer(tokens.valid))
    assert stats.json()["total"] == 1
    assert stats.json()["remediated"] == 1


def test_flagged_cursor_pagination(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, tokens, settings = audit
    auth = bearer(tokens.valid)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = "/v1/flagged?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=auth).json()
        assert len(page["entries"]) <= 2
        seen += [e["id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        pages += 1
        if cursor is None:
            break
        assert cursor == seen[-1]
    assert pages == 3
    assert seen == _newest_first(_register_rows(settings))
    # Filters hold across pages.
    first = client.get("/v1/flagged?status=open&limit=3", headers=auth).json()
    rest = client.get(
        f"/v1/flagged?status=open&limit=3&cursor={first['next_cursor']}", headers=auth
    ).json()
    both = [e["id"] for e in first["entries"] + rest["entries"]]
    assert sorted(both) == sorted(p.id for p in PLANTED if not p.remediated)
    assert rest["next_cursor"] is None
    # A cursor that names no entry cannot be continued from.
    missing = client.get("/v1/flagged?cursor=" + "0" * 32, headers=auth)
    assert missing.status_code == 404


def test_flagged_tenant_scoping(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, tokens, _ = audit
    acme = [p for p in PLANTED if p.tenant == "acme"]
    assert sorted(_ids(client, tokens.acme)) == sorted(p.id for p in acme)
    assert sorted(_ids(client, tokens.acme, "tenant=acme")) == sorted(p.id for p in acme)
    assert client.get("/v1/flagged?tenant=beta", headers=bearer(tokens.acme)).status_code == 403
    stats = client.get("/v1/flagged/stats?tenant=beta", headers=bearer(tokens.acme))
    assert stats.status_code == 403
    totals = client.get("/v1/flagged/stats", headers=bearer(tokens.acme)).json()
    assert (totals["total"], totals["overdue"], totals["regenerated"]) == (3, 1, 1)
    assert totals["by_category"] == {"fraud": 1, "violence": 2}
    beta_entry = f"/v1/flagged/{ENTRY['b-overdue'].id}"
    assert client.get(beta_entry, headers=bearer(tokens.acme)).status_code == 404
    assert client.get(beta_entry, headers=bearer(tokens.beta)).json()["tenant"] == "beta"
    # Another tenant's entry is no cursor either (as if it did not exist).
    foreign = client.get(
        f"/v1/flagged?limit=1&cursor={ENTRY['b-open'].id}", headers=bearer(tokens.acme)
    )
    assert foreign.status_code == 404
    own = client.get(f"/v1/flagged?cursor={ENTRY['a-copy'].id}", headers=bearer(tokens.acme))
    assert [e["id"] for e in own.json()["entries"]] == [ENTRY["a-output"].id, ENTRY["a-overdue"].id]


def test_flagged_reads_are_in_the_access_log(audit: tuple[TestClient, Tokens, Settings]) -> None:
    client, tokens, settings = audit
    auth = bearer(tokens.beta)
    client.get("/v1/flagged?status=open&limit=1", headers=auth)
    client.get("/v1/flagged/stats?direction=input", headers=auth)
    client.get(f"/v1/flagged/{ENTRY['b-open'].id}", headers=auth)
    client.get(f"/v1/flagged/{ENTRY['a-output'].id}", headers=auth)  # acme's: 404
    client.get("/v1/flagged?overdue=maybe", headers=auth)
    client.get("/v1/flagged", headers={"Authorization": "Bearer nope"})
    rows = _log_rows(settings)
    assert [(r["route"], r["status"], r["rows"]) for r in rows] == [
        ("/v1/flagged", 200, 1),
        ("/v1/flagged/stats", 200, 2),  # beta's inputs: one remediated, one open
        ("/v1/flagged/{entry_id}", 200, 1),
        ("/v1/flagged/{entry_id}", 404, 0),
        ("/v1/flagged", 422, None),
        ("/v1/flagged", 401, None),
    ]
    assert {r["tenant"] for r in rows[:5]} == {"beta"}
    assert json.loads(rows[0]["filters"]) == {"status": "open", "limit": "1"}
    assert client.get("/v1/access-log/verify", headers=auth).json()["ok"] is True


def test_flagged_routes_on_a_database_without_the_register(
    audit: tuple[TestClient, Tokens, Settings],
) -> None:
    """Before migration 0007 there is no register: the routes answer like an empty one."""
    client, tokens, settings = audit
    auth = bearer(tokens.valid)
    full = client.get("/v1/flagged/stats", headers=auth).json()
    assert full["total"] == len(PLANTED)
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            empty = register.counts(conn, register.FlaggedFilter(category="no such category"))
            conn.execute(text("DROP TABLE privlog_flagged"))
    finally:
        engine.dispose()
    assert client.get("/v1/flagged/stats?status=open", headers=auth).json() == empty
    listing = client.get("/v1/flagged", headers=auth)
    assert listing.status_code == 200
    assert listing.json() == {"entries": [], "next_cursor": None}
    gone = client.get(f"/v1/flagged/{ENTRY['a-output'].id}", headers=auth)
    assert gone.status_code == 404
    cursor = client.get(f"/v1/flagged?cursor={ENTRY['a-output'].id}", headers=auth)
    assert cursor.status_code == 404
    assert client.get("/v1/records?limit=1", headers=auth).status_code == 200


# --- read-only connections ---------------------------------------------------------------


def test_auditor_connection_cannot_write(
    audit: tuple[TestClient, Tokens, Settings], reliability: Report
) -> None:
    """Every write through the auditor's read connection, and every change other than an
    append through its access-log connection, is refused by the database."""
    _, _, settings = audit
    refused = 0
    engine = read_engine(settings)
    try:
        for statement in (
            insert(audit_tokens).values(
                id="f" * 16, name="forged", secret_hash="0" * 64, created_at="now"
            ),
            update(records).values(outcome="logged"),
            delete(records),
            delete(access_log),
            update(audit_tokens).values(revoked_at=None),
            update(flagged).values(status="remediated", remediation_note="by the auditor"),
            delete(flagged),
        ):
            with engine.connect() as conn, pytest.raises(DBAPIError):
                conn.execute(statement)
            refused += 1
    finally:
        engine.dispose()
    logger = log_engine(settings)
    try:
        for statement in (
            update(access_log).values(status=200),
            delete(access_log),
            delete(records),
            delete(flagged),
        ):
            with logger.connect() as conn, pytest.raises(DBAPIError):
                conn.execute(statement)
            refused += 1
    finally:
        logger.dispose()
    database = make_url(settings.database_url).get_backend_name()
    reliability.area = "auditor side"
    reliability.scenario = f"writes through the auditor's database connections ({database})"
    reliability.done = (
        "inserts, updates and deletes on records, tokens, the access log and the flagged "
        "register, through the read connection and the access-log connection"
    )
    reliability.figure = f"{refused}/11 refused by the database"


def test_refuses_to_start_on_a_writable_connection(db_url: str, tmp_path: Path) -> None:
    populate(db_url, 2)
    if make_url(db_url).get_backend_name() == "sqlite":
        # The writer's own URL for the access log is fine on SQLite (the authoriser limits
        # it); the read side can only be made writable by pointing it at another database.
        settings = Settings(database_url=db_url, audit_database_url="sqlite://")
        with pytest.raises(AuditSetupError, match="SQLite file or PostgreSQL"):
            create_app(settings)
        missing = Settings(database_url=f"sqlite:///{tmp_path / 'none.db'}")
        with pytest.raises(AuditSetupError, match="privlog db upgrade"):
            create_app(missing)
        return
    with pytest.raises(AuditSetupError, match="grant-auditor"):
        create_app(Settings(database_url=db_url, key_file=tmp_path / "k"))
    with auditor_settings(db_url, tmp_path) as settings:
        swapped = Settings(
            database_url=db_url,
            audit_database_url=settings.audit_database_url,
            audit_log_database_url=db_url,  # the owner's connection could write anything
        )
        with pytest.raises(AuditSetupError, match="grant-access-log"):
            create_app(swapped)


# --- the access log ----------------------------------------------------------------------


def test_access_log_records_every_request_and_verifies(
    audit: tuple[TestClient, Tokens, Settings],
) -> None:
    client, tokens, settings = audit
    auth = bearer(tokens.acme)
    client.get("/v1/records?outcome=blocked&limit=2", headers=auth)
    client.get("/v1/records/export?format=csv", headers=auth)
    client.get("/v1/stats", headers={"Authorization": "Bearer nope"})
    client.post("/v1/records", headers=auth)
    client.get("/healthz")  # not an auditor read: not logged
    rows = _log_rows(settings)
    assert [(r["route"], r["status"]) for r in rows] == [
        ("/v1/records", 200),
        ("/v1/records/export", 200),
        ("/v1/stats", 401),
        ("(no route) /v1/records", 405),
    ]
    first = rows[0]
    assert (first["token_name"], first["tenant"], first["rows"]) == ("acme-auditor", "acme", 2)
    assert json.loads(first["filters"]) == {"outcome": "blocked", "limit": "2"}
    assert rows[1]["rows"] == RECORDS // 2
    assert rows[2]["token_name"] is None
    verified = client.get("/v1/access-log/verify", headers=auth).json()
    assert verified == {"ok": True, "entries": 4, "problem": None}
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as conn:  # someone hides how many rows were read
            conn.execute(update(access_log).where(access_log.c.seq == 2).values(rows=1))
    finally:
        engine.dispose()
    broken = client.get("/v1/access-log/verify", headers=auth).json()
    assert broken["ok"] is False
    assert broken["problem"]["seq"] == 2


def test_no_response_without_an_access_log_entry(
    audit: tuple[TestClient, Tokens, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, tokens, _ = audit
    service = app_service(client.app)

    def fail(entry: object) -> int:
        raise RuntimeError("database is down")

    monkeypatch.setattr(service.access_log, "append", fail)
    response = client.get("/v1/records", headers=bearer(tokens.valid))
    assert response.status_code == 503
    assert "records" not in response.text
    assert "database is down" not in response.text


def test_internal_errors_carry_a_correlation_id_only(
    audit: tuple[TestClient, Tokens, Settings],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    reliability: Report,
) -> None:
    client, tokens, settings = audit
    from privlog.audit import queries

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("SELECT secret FROM privlog_records WHERE route = 'x'")

    monkeypatch.setattr(queries, "daily_stats", broken)
    response = client.get("/v1/stats", headers=bearer(tokens.valid))
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"detail", "correlation_id"}
    assert "SELECT" not in response.text
    assert body["correlation_id"] in caplog.text
    assert "SELECT" not in caplog.text
    assert _log_rows(settings)[-1]["status"] == 500  # recorded like any other request
    database = make_url(settings.database_url).get_backend_name()
    reliability.area = "auditor side"
    reliability.scenario = f"500-class errors ({database})"
    reliability.done = "a query raising an error whose text is SQL"
    reliability.figure = (
        "500 with only detail and correlation_id; the id in the log; SQL in neither the body "
        "nor the log; the request in the access log"
    )
