"""Bad input at the edge, through FastAPI and Flask: each case gets its documented outcome,
the app answers as it does without privlog, every request has its record, no canary is in
the database files or the log, and no log line carries the request's line breaks or
terminal escapes."""

from __future__ import annotations

import gzip
import io
import json
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from flask import Flask
from flask import request as flask_request

from privlog.adapters.asgi import PrivlogMiddleware
from privlog.adapters.flask import PrivlogFlask
from tests.adapters_support import make_privlog, stored
from tests.canaries import cn_resident_id, email, find_leaks
from tests.reliability_support import Report
from tests.storetools import database_bytes, migrated

CAP = 1 << 20  # max_inspect_bytes, the default


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    body: bytes | Callable[[], Iterator[bytes]]
    headers: dict[str, str]
    flags: frozenset[str]  # the flags the record must carry (documented in the README)


def _cases(secret: str, mail: str) -> list[Case]:
    prompt = f"my id is {secret}, mail {mail}"
    big = json.dumps({"prompt": prompt + " filler" * (CAP // 6)}).encode()
    deep = b'{"prompt": ' + b"[" * 5_000 + json.dumps(prompt).encode() + b"]" * 5_000 + b"}"
    huge_number = b'{"prompt": "' + prompt.encode() + b'", "n": ' + b"9" * 5_000 + b"}"
    bomb = gzip.compress(b'{"prompt": "' + prompt.encode() + b" " * (100 * CAP) + b'"}')
    invalid = b'{"prompt": "' + prompt.encode() + b' \xff\xfe\xc3\x28 end"}'
    surrogate = b'{"prompt": "' + prompt.encode() + b' \\ud800 \\udfff end"}'
    nul = b'{"prompt": "' + prompt.encode() + b' \\u0000 end"}'
    escapes = b'{"prompt": "' + prompt.encode() + b'\\r\\nINFO forged \\u001b[2J"}'
    boundary = "b0undary"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n{prompt}\r\n'
        for i in range(2_000)
    )
    parts += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{secret}'
        f'{"x" * 5_000}.txt"\r\nContent-Type: text/plain\r\n\r\n{prompt}\r\n--{boundary}--\r\n'
    )
    broken = f'--{boundary}\r\nContent-Disposition: form-data; name="p"\r\n\r\n{prompt}'
    json_type = {"content-type": "application/json"}
    return [
        Case(
            "oversize body with Content-Length",
            "/v1/chat",
            big,
            json_type,
            frozenset({"truncated"}),
        ),
        Case(
            "oversize body without Content-Length",
            "/v1/chat",
            lambda: iter([big[i : i + 65_536] for i in range(0, len(big), 65_536)]),
            json_type,
            frozenset({"truncated"}),
        ),
        Case(
            "gzip bomb (100 MiB inflated)",
            "/v1/chat",
            bomb,
            {**json_type, "content-encoding": "gzip"},
            frozenset({"truncated"}),
        ),
        Case("JSON nested 5,000 deep", "/v1/chat", deep, json_type, frozenset({"unparseable"})),
        Case("a 5,000-digit number", "/v1/chat", huge_number, json_type, frozenset()),
        Case("invalid UTF-8", "/v1/chat", invalid, json_type, frozenset()),
        Case("lone surrogates", "/v1/chat", surrogate, json_type, frozenset()),
        Case("NUL in the body and the path", "/v1/chat%00x", nul, json_type, frozenset()),
        Case(
            "CR/LF and ANSI escapes in the path, a header and the body",
            "/v1/chat%0d%0aINFO%20forged%1b%5b2J",
            escapes,
            {**json_type, "x-session-id": "s\x1b[2J", "user-agent": "ua\x1b[31m"},
            frozenset(),
        ),
        Case(
            "multipart: 2,000 fields and a 5,000-character file name",
            "/v1/chat",
            parts.encode(),
            {"content-type": f"multipart/form-data; boundary={boundary}"},
            frozenset(),
        ),
        Case(
            "multipart without its closing boundary",
            "/v1/chat",
            broken.encode(),
            {"content-type": f"multipart/form-data; boundary={boundary}"},
            frozenset(),
        ),
    ]


def _fastapi(pl: Any | None) -> Any:
    app = FastAPI()

    @app.post("/{path:path}")
    async def echo(path: str, request: Request) -> dict[str, int]:
        return {"read": len(await request.body())}

    if pl is not None:
        app.add_middleware(PrivlogMiddleware, privlog=pl)

    def send(case: Case) -> int:
        body = case.body() if callable(case.body) else case.body
        with TestClient(app) as client:
            return client.post(case.path, content=body, headers=case.headers).status_code

    return send


def _flask(pl: Any | None) -> Any:
    app = Flask(__name__)

    @app.post("/<path:path>")
    def echo(path: str) -> dict[str, int]:
        return {"read": len(flask_request.get_data())}

    if pl is not None:
        PrivlogFlask(app, privlog=pl)
    client = app.test_client()

    def send(case: Case) -> int:
        body = case.body() if callable(case.body) else case.body
        if callable(case.body):  # a stream without Content-Length, as gunicorn passes it on
            return client.post(
                case.path,
                input_stream=io.BytesIO(b"".join(body)),
                headers={**case.headers, "transfer-encoding": "chunked"},
                environ_overrides={"wsgi.input_terminated": True},
            ).status_code
        return client.post(case.path, data=body, headers=case.headers).status_code

    return send


@pytest.mark.slow
@pytest.mark.parametrize("framework", [_fastapi, _flask], ids=["fastapi", "flask"])
@pytest.mark.parametrize("database", ["sqlite_url", "pg_url"], ids=["sqlite", "postgresql"])
def test_bad_input_at_the_edge(
    *,
    framework: Any,
    database: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    rng: random.Random,
    caplog: pytest.LogCaptureFixture,
    reliability: Report,
) -> None:
    """PostgreSQL refuses NUL in text: a record carrying one must be written all the same
    (it used to fail its batch at every retry, and hold up every record behind it)."""
    url = migrated(str(request.getfixturevalue(database)))
    secret, mail = cn_resident_id(rng), email(rng)
    cases = _cases(secret, mail)
    plain = framework(None)
    pl = make_privlog(tmp_path, database_url=url)
    guarded = framework(pl)
    outcomes = []
    with caplog.at_level(logging.DEBUG):
        for case in cases:
            expected = plain(case)
            got = guarded(case)
            assert got == expected, (case.name, got, expected)
            outcomes.append(got)
        rows = stored(pl)
    pl.close()
    assert len(rows) == len(cases)
    for case, row in zip(cases, rows, strict=True):
        assert case.flags <= row["flags"], (case.name, row["flags"])
    blobs = database_bytes(url)
    leaks = [
        hit for blob in [*blobs, caplog.text.encode()] for hit in find_leaks(blob, [secret, mail])
    ]
    assert leaks == []
    # Raw line breaks or escapes from the request in any log message would let a request
    # forge log lines or repaint a terminal (percent-encoded, as in a client's own log, is
    # harmless).
    forged = [
        r.getMessage()
        for r in caplog.records
        if "\x1b" in r.getMessage() or "\nINFO forged" in r.getMessage()
    ]
    assert forged == []
    name = framework.__name__.strip("_")
    reliability.area = "bad input"
    where = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    reliability.scenario = f"at the edge ({name}, {where})"
    reliability.done = "; ".join(c.name for c in cases)
    reliability.figure = (
        f"{len(cases)}/{len(cases)} answered as without privlog ({sorted(set(outcomes))}); "
        f"{len(rows)}/{len(cases)} records, each with its documented flags; canary hits in "
        f"the database ({'files' if where == 'SQLite' else 'pg_dump'}) and the log: "
        f"{len(leaks)}; log lines with the request's line "
        f"breaks or escapes: {len(forged)}"
    )
