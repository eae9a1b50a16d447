"""The read-only auditor API and dashboard (FastAPI).

Everything here reads through the read-only connection; the only write is the access-log
entry each ``/v1/`` request appends through its own insert-only connection.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPBearer
from sqlalchemy import Connection, Engine, text
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from privlog._version import __version__
from privlog.audit import queries
from privlog.audit.accesslog import AccessLog, verify_log
from privlog.audit.connections import check_log_only, check_read_only, log_engine, read_engine
from privlog.audit.middleware import (
    AccessLogMiddleware,
    InternalErrors,
    ReadOnlyMethods,
    SecurityHeaders,
    internal_error_body,
)
from privlog.audit.tokens import Principal, authenticate
from privlog.config import Settings
from privlog.records import FLAGS, OUTCOMES
from privlog.store import reader, register
from privlog.store.schema import now_iso

__all__ = ["AuditService", "build_app", "create_app"]

MAX_PAGE = 1_000
_STATIC = Path(__file__).parent / "static"
_MAX_SEQ = 2**63 - 1
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
_ENTRY_ID = r"^[0-9a-f]{32}$"  # register entry ids are UUID4 hex

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No, malformed, unknown, expired or revoked bearer token"},
    403: {"description": "The token is scoped to another tenant"},
    422: {"description": "Invalid or unknown query parameter"},
    503: {"description": "The access log is unavailable, so nothing was returned"},
}


@dataclass
class AuditService:
    """What the routes share: the two engines and the checkpoint keys to trust."""

    read: Engine
    access_log: AccessLog
    trusted_keys: dict[str, str] | None
    content: Any = None  # the policy's ContentRules, when [content] names a rule file

    def close(self) -> None:
        self.read.dispose()
        self.access_log.close()


def _trusted_keys(settings: Settings) -> dict[str, str] | None:
    from privlog.keys import KeyRing

    return KeyRing.trusted_keys(settings.key_file)


def _content_rules(settings: Settings) -> Any:
    content = settings.policy.content
    if content.rules_file is None:
        return None
    from privlog.safety import ContentRules

    return ContentRules(
        content.rules_file,
        reload_seconds=content.reload_seconds,
        max_age_days=content.max_age_days,
    )


def create_app(settings: Settings | None = None) -> ASGIApp:
    """Build the app from settings, after checking both connections (raises
    :class:`~privlog.errors.AuditSetupError` when one of them could write)."""
    settings = settings or Settings.from_env()
    read = read_engine(settings)
    writer = log_engine(settings)
    try:
        check_read_only(read)
        check_log_only(writer)
        service = AuditService(
            read, AccessLog(writer), _trusted_keys(settings), _content_rules(settings)
        )
    except BaseException:
        read.dispose()
        writer.dispose()
        raise
    return build_app(service)


# --- dependencies ----------------------------------------------------------------------


def _service(request: Request) -> AuditService:
    service: AuditService = request.app.state.privlog_audit
    return service


def _connection(service: Annotated[AuditService, Depends(_service)]) -> Iterator[Connection]:
    with service.read.connect() as conn:
        yield conn


_bearer = HTTPBearer(auto_error=False, description="An auditor token (privlog audit token create)")


def _principal(
    request: Request,
    conn: Annotated[Connection, Depends(_connection)],
    _: Annotated[Any, Depends(_bearer)] = None,
) -> Principal:
    outcome = authenticate(conn, request.headers.get("authorization"))
    if isinstance(outcome, str):
        raise HTTPException(401, outcome, headers={"WWW-Authenticate": "Bearer"})
    request.state.privlog_principal = outcome
    # After authentication, so that a caller without a valid token learns nothing but 401.
    _known_query(request)
    return outcome


def _known_query(request: Request) -> None:
    """Reject query parameters the route does not define: a misspelt filter must not
    silently widen what an auditor is shown."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _query_names(dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": "unknown query parameter; allowed: "
                    + (", ".join(sorted(known)) or "none"),
                }
                for name in unknown
            ]
        )


def _query_names(dependant: Any) -> set[str]:
    names = {str(param.alias) for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


Conn = Annotated[Connection, Depends(_connection)]
Auth = Annotated[Principal, Depends(_principal)]
Cursor = Annotated[int | None, Query(ge=0, le=_MAX_SEQ, description="from the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]


def _when(value: str | None, name: str) -> str | None:
    """An RFC 3339 / ISO 8601 date-time as the stored form (UTC, microseconds); naive
    times are taken as UTC."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.upper())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")
    except (OverflowError, ValueError):
        raise RequestValidationError(
            [
                {
                    "type": "datetime_parsing",
                    "loc": ("query", name),
                    "msg": "not an ISO 8601 date-time (e.g. 2026-11-28T09:30:00Z)",
                }
            ]
        ) from None


_DATE_TIME: dict[str, Any] = {"format": "date-time"}


def _filter(
    *,
    principal: Auth,
    since: Annotated[
        str | None,
        Query(
            max_length=64, description="from (inclusive), ISO 8601", json_schema_extra=_DATE_TIME
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(max_length=64, description="to (exclusive), ISO 8601", json_schema_extra=_DATE_TIME),
    ] = None,
    route: Annotated[str | None, Query(max_length=512, pattern=_NO_CONTROL)] = None,
    tenant: Annotated[str | None, Query(max_length=128, pattern=_NO_CONTROL)] = None,
    entity: Annotated[str | None, Query(pattern=r"^[A-Z][A-Z0-9_]{0,63}$")] = None,
    outcome: Annotated[Literal[OUTCOMES] | None, Query()] = None,  # type: ignore[valid-type]
    flag: Annotated[Literal[tuple(sorted(FLAGS))] | None, Query()] = None,  # type: ignore[valid-type]
    kind: Annotated[Literal["usage", "summary"] | None, Query()] = None,
) -> queries.RecordFilter:
    if principal.tenant is not None:
        if tenant is not None and tenant != principal.tenant:
            raise HTTPException(403, "this token sees only its own tenant's records")
        tenant = principal.tenant
    return queries.RecordFilter(
        since=_when(since, "since"),
        until=_when(until, "until"),
        route=route,
        tenant=tenant,
        entity=entity,
        outcome=outcome,
        flag=flag,
        kind=kind,
    )


Filter = Annotated[queries.RecordFilter, Depends(_filter)]

_SINCE = Query(
    max_length=64,
    description="discovered at or after (inclusive), ISO 8601",
    json_schema_extra=_DATE_TIME,
)
_UNTIL = Query(
    max_length=64,
    description="discovered before (exclusive), ISO 8601",
    json_schema_extra=_DATE_TIME,
)


def _flagged_filter(
    *,
    principal: Auth,
    status: Annotated[Literal["open", "remediated"] | None, Query()] = None,
    overdue: Annotated[
        bool | None, Query(description="open past its remediation due time (or not)")
    ] = None,
    category: Annotated[str | None, Query(max_length=128, pattern=_NO_CONTROL)] = None,
    direction: Annotated[Literal["input", "output"] | None, Query()] = None,
    tenant: Annotated[str | None, Query(max_length=128, pattern=_NO_CONTROL)] = None,
    since: Annotated[str | None, _SINCE] = None,
    until: Annotated[str | None, _UNTIL] = None,
    related_to: Annotated[
        str | None,
        Query(pattern=_ENTRY_ID, description="near-duplicates of this entry"),
    ] = None,
) -> register.FlaggedFilter:
    if principal.tenant is not None:
        if tenant is not None and tenant != principal.tenant:
            raise HTTPException(403, "this token sees only its own tenant's entries")
        tenant = principal.tenant
    return register.FlaggedFilter(
        status=status,
        overdue=overdue,
        category=category,
        direction=direction,
        tenant=tenant,
        since=_when(since, "since"),
        until=_when(until, "until"),
        related_to=related_to,
    )


Flagged = Annotated[register.FlaggedFilter, Depends(_flagged_filter)]
EntryCursor = Annotated[
    str | None, Query(pattern=_ENTRY_ID, description="the last entry id of the previous page")
]


def _rows(request: Request, n: int) -> None:
    request.state.privlog_rows = n


# --- the app ---------------------------------------------------------------------------


def build_app(service: AuditService) -> ASGIApp:
    """The auditor app around an already checked :class:`AuditService`."""
    app = FastAPI(
        title="privlog auditor API",
        version=__version__,
        description="Read-only view of privlog's usage records, chain, flagged-content "
        "register and access log.",
        docs_url=None,  # the interactive docs load scripts from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.privlog_audit = service

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(internal_error_body(exc), status_code=500)

    app.mount("/assets", StaticFiles(directory=_STATIC), name="assets")
    _routes(app)
    _flagged_routes(app)
    guarded = InternalErrors(ReadOnlyMethods(app))
    return SecurityHeaders(AccessLogMiddleware(guarded, service.access_log))


def _routes(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def dashboard() -> HTMLResponse:
        return HTMLResponse((_STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get(
        "/healthz",
        summary="Liveness and database reachability (no token needed)",
        dependencies=[Depends(_known_query)],
    )
    def healthz(service: Annotated[AuditService, Depends(_service)]) -> JSONResponse:
        try:
            with service.read.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # the type only: the message could name the database
            down = {"status": "unavailable", "error": type(exc).__name__}
            return JSONResponse(down, status_code=503)
        up: dict[str, Any] = {"status": "ok", "read_only": True, "version": __version__}
        if service.content is not None:
            up["content_rules"] = service.content.status()  # version, and whether stale
        return JSONResponse(up)

    @app.get("/v1/records", responses=_ERRORS, summary="Usage records, filtered, paginated")
    def list_records(
        *,
        request: Request,
        conn: Conn,
        where: Filter,
        cursor: Cursor = None,
        limit: Limit = 100,
        order: Annotated[Literal["asc", "desc"], Query()] = "asc",
    ) -> dict[str, Any]:
        page, following = queries.record_page(
            conn, where, limit=limit, after=cursor, descending=order == "desc"
        )
        _rows(request, len(page))
        return {"records": page, "next_cursor": following}

    @app.get(
        "/v1/records/export",
        responses={
            **_ERRORS,
            200: {"content": {"text/csv": {}, "application/x-ndjson": {}}},
        },
        summary="Every matching record, streamed as CSV or JSON lines",
        response_class=StreamingResponse,
    )
    def export_records(
        *,
        request: Request,
        conn: Conn,
        where: Filter,
        service: Annotated[AuditService, Depends(_service)],
        format: Annotated[Literal["csv", "jsonl"], Query()] = "jsonl",
    ) -> StreamingResponse:
        up_to = queries.last_seq(conn)
        _rows(request, queries.count_records(conn, where, up_to=up_to))
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        return StreamingResponse(
            _export(service.read, where, up_to, format),
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="privlog-records.{format}"'},
        )

    @app.get(
        "/v1/records/{seq}",
        responses={**_ERRORS, 404: {"description": "No such record (for this token)"}},
        summary="One usage record",
    )
    def one_record(
        *,
        request: Request,
        conn: Conn,
        principal: Auth,
        seq: Annotated[int, PathParam(ge=1, le=_MAX_SEQ)],
    ) -> dict[str, Any]:
        record = queries.get_record(conn, seq, principal.tenant)
        if record is None:
            _rows(request, 0)
            raise HTTPException(404, f"no record {seq}")
        _rows(request, 1)
        return record

    @app.get("/v1/stats", responses=_ERRORS, summary="Per-day counts")
    def stats(request: Request, conn: Conn, where: Filter) -> dict[str, Any]:
        result = queries.daily_stats(conn, where)
        _rows(request, len(result["days"]))
        return result

    @app.get("/v1/chain/verify", responses=_ERRORS, summary="Verify the hash chain")
    def chain_verify(
        *,
        request: Request,
        conn: Conn,
        _: Auth,
        service: Annotated[AuditService, Depends(_service)],
        from_seq: Annotated[int, Query(ge=1, le=_MAX_SEQ)] = 1,
        to_seq: Annotated[int | None, Query(ge=1, le=_MAX_SEQ)] = None,
    ) -> dict[str, Any]:
        # An empty range (to_seq < from_seq) verifies nothing and is reported as such.
        report = reader.verify_chain(conn, service.trusted_keys, first=from_seq, last=to_seq)
        _rows(request, report.records)
        return {
            **report.as_dict(),
            "keys": "key file" if service.trusted_keys is not None else "stored with checkpoints",
            "last_checkpoint": queries.last_checkpoint(conn),
        }

    @app.get("/v1/checkpoints", responses=_ERRORS, summary="Signed checkpoints")
    def list_checkpoints(
        *, request: Request, conn: Conn, _: Auth, cursor: Cursor = None, limit: Limit = 100
    ) -> dict[str, Any]:
        page, following = queries.checkpoint_page(conn, limit=limit, after=cursor)
        _rows(request, len(page))
        return {"checkpoints": page, "next_cursor": following}

    @app.get(
        "/v1/checkpoints/public-key",
        responses=_ERRORS,
        summary="The Ed25519 public keys that sign checkpoints",
    )
    def checkpoint_keys(
        *,
        request: Request,
        conn: Conn,
        _: Auth,
        service: Annotated[AuditService, Depends(_service)],
    ) -> dict[str, Any]:
        if service.trusted_keys is not None:
            keys = [{"key_id": k, "public_key": v} for k, v in sorted(service.trusted_keys.items())]
            source = "key file"
        else:
            keys, source = queries.public_keys(conn), "stored with checkpoints"
        _rows(request, len(keys))
        return {"keys": keys, "source": source}

    @app.get("/v1/access-log", responses=_ERRORS, summary="Auditor requests, newest first")
    def access_log(
        *,
        request: Request,
        conn: Conn,
        principal: Auth,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> dict[str, Any]:
        page, following = queries.access_entries(
            conn, limit=limit, after=cursor, tenant=principal.tenant
        )
        _rows(request, len(page))
        return {"entries": page, "next_cursor": following}

    @app.get("/v1/access-log/verify", responses=_ERRORS, summary="Verify the access log chain")
    def access_log_verify(request: Request, conn: Conn, _: Auth) -> dict[str, Any]:
        result = verify_log(conn)
        _rows(request, int(result["entries"]))
        return result


# How a listed entry's id leads to the entry (OpenAPI links; clients and test tools follow them).
_ENTRY_LINKS = {
    "FirstEntry": {
        "operationRef": "#/paths/~1v1~1flagged~1{entry_id}/get",
        "parameters": {"entry_id": "$response.body#/entries/0/id"},
        "description": "The first entry of the page, by its id",
    }
}


def _flagged_routes(app: FastAPI) -> None:
    """The flagged-content register (read-only, like everything here)."""

    @app.get(
        "/v1/flagged",
        responses={
            **_ERRORS,
            200: {"links": _ENTRY_LINKS},
            404: {"description": "No such entry to continue after"},
        },
        summary="Flagged-content register entries, newest first, filtered, paginated",
    )
    def list_flagged(
        *,
        request: Request,
        conn: Conn,
        principal: Auth,
        where: Flagged,
        cursor: EntryCursor = None,
        limit: Limit = 100,
    ) -> dict[str, Any]:
        try:
            page, following = queries.flagged_page(
                conn, where, limit=limit, after=cursor, scope=principal.tenant, now=now_iso()
            )
        except queries.UnknownCursor:
            _rows(request, 0)
            raise HTTPException(404, f"no register entry {cursor} to continue after") from None
        _rows(request, len(page))
        return {"entries": page, "next_cursor": following}

    # Before /v1/flagged/{entry_id}, which would otherwise take "stats" for an id.
    @app.get(
        "/v1/flagged/stats",
        responses=_ERRORS,
        summary="Flagged-content counts: by status, category and direction, overdue, "
        "regenerated copies",
    )
    def flagged_stats(request: Request, conn: Conn, where: Flagged) -> dict[str, Any]:
        result = queries.flagged_counts(conn, where, now_iso())
        _rows(request, int(result["total"]))
        return result

    @app.get(
        "/v1/flagged/{entry_id}",
        responses={**_ERRORS, 404: {"description": "No such entry (for this token)"}},
        summary="One flagged-content register entry",
    )
    def one_flagged(
        *,
        request: Request,
        conn: Conn,
        principal: Auth,
        entry_id: Annotated[str, PathParam(pattern=_ENTRY_ID)],
    ) -> dict[str, Any]:
        entry = queries.flagged_entry(conn, entry_id, scope=principal.tenant, now=now_iso())
        if entry is None:
            _rows(request, 0)
            raise HTTPException(404, f"no register entry {entry_id}")
        _rows(request, 1)
        return entry


_CSV_RISKY = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    cell = str(value)
    # A spreadsheet would run a cell that starts like a formula; scrubbed user text can.
    return "'" + cell if cell.startswith(_CSV_RISKY) else cell


def _export(engine: Engine, where: queries.RecordFilter, up_to: int, fmt: str) -> Iterator[bytes]:
    columns = list(queries.RECORD_COLUMNS)
    with engine.connect() as conn:
        rows = queries.iter_records(conn, where, up_to=up_to)
        if fmt == "jsonl":
            for row in rows:
                yield (json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode()
            return
        buffer = io.StringIO()
        out = csv.writer(buffer)
        out.writerow(columns)
        for row in rows:
            out.writerow([_cell(row.get(name)) for name in columns])
            if buffer.tell() > 64_000:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()
