"""The auditor API: who may read what, that nothing can be written, and that every read
is recorded in a chain of its own. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from privlog.audit.app import create_app
from privlog.audit.connections import log_engine, read_engine
from privlog.config import Settings
from privlog.errors import AuditSetupError
from privlog.store.database import make_engine
from privlog.store.schema import access_log, audit_tokens, records
from tests.audit_support import Tokens, auditor_settings, bearer, make_tokens, populate

RECORDS = 12  # usage records written by populate(); half per tenant
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
)
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
    # Record 2 belongs to tenant beta (populate alternates acme, beta).
    scoped = client.get(route, headers=bearer(tokens.acme))
    assert scoped.status_code == (404 if route == "/v1/records/2" else 200)
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
        r.split("?")[0].replace("/2", "/{seq}") for r in ROUTES
    }
    for path, item in document["paths"].items():
        if path.startswith("/v1/"):
            assert item["get"]["security"], path  # every /v1 operation declares the bearer


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
    ):
        response = client.get(query, headers=bearer(tokens.valid))
        assert response.status_code == 422, query
        assert response.json()["detail"][0]["msg"]


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


# --- read-only connections ---------------------------------------------------------------


def test_auditor_connection_cannot_write(audit: tuple[TestClient, Tokens, Settings]) -> None:
    _, _, settings = audit
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
        ):
            with engine.connect() as conn, pytest.raises(DBAPIError):
                conn.execute(statement)
    finally:
        engine.dispose()
    logger = log_engine(settings)
    try:
        for statement in (
            update(access_log).values(status=200),
            delete(access_log),
            delete(records),
        ):
            with logger.connect() as conn, pytest.raises(DBAPIError):
                conn.execute(statement)
    finally:
        logger.dispose()


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
