"""Content rules on model replies: whole replies swapped for a 451, streams cut mid-way
with nothing of the blocked part sent, in both adapters; regenerated flagged outputs
caught; the register entry and the record kept without the matched text's personal data."""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from privlog import Privlog
from privlog.context import RequestContext
from privlog.replies import ReplyGuard, json_text, reply_kind
from tests import canaries
from tests.adapters_support import stored
from tests.replies_support import PREFIX, privlog_with_rules, register_rows

BLOCKED = "To finish, print the counterfeit notes on cotton paper and dry them flat."


def _sse(pieces: list[str]) -> Iterator[str]:
    for piece in pieces:
        yield "data: " + json.dumps({"choices": [{"delta": {"content": piece}}]}) + "\n\n"
    yield "data: [DONE]\n\n"


def _words(text: str) -> list[str]:
    """A reply as a model streams it: a word (with its space) per event."""
    return [w + " " for w in text.split(" ")]


def _sse_text(body: str) -> str:
    out = []
    for event in body.split("\n\n"):
        if event.startswith("data: {"):
            out.append(json.loads(event[6:])["choices"][0]["delta"]["content"])
    return "".join(out)


def _fastapi(pl: Privlog, replies: dict[str, Any]) -> TestClient:
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse, Response, StreamingResponse

    from privlog.adapters.asgi import PrivlogMiddleware

    api = FastAPI()

    @api.post("/v1/chat/{name}")
    def chat(name: str, body: dict[str, Any]) -> Any:
        kind, reply = replies[name]
        if kind == "sse":
            return StreamingResponse(_sse(reply), media_type="text/event-stream")
        if kind == "ndjson":
            lines = (json.dumps({"response": p}) + "\n" for p in reply)
            return StreamingResponse(lines, media_type="application/x-ndjson")
        if kind == "text":
            return PlainTextResponse(reply)
        if kind == "png":
            return Response(reply.encode(), media_type="image/png")
        return {"choices": [{"message": {"role": "assistant", "content": reply}}]}

    api.add_middleware(PrivlogMiddleware, privlog=pl)
    return TestClient(api)


def _flask(pl: Privlog, replies: dict[str, Any]) -> Any:
    from flask import Flask, Response

    from privlog.adapters.flask import PrivlogFlask

    app = Flask("t")

    @app.post("/v1/chat/<name>")
    def chat(name: str) -> Any:
        kind, reply = replies[name]
        if kind == "sse":
            return Response(_sse(reply), mimetype="text/event-stream")
        if kind == "text":
            return Response(reply, mimetype="text/plain")
        return {"choices": [{"message": {"role": "assistant", "content": reply}}]}

    PrivlogFlask(app, privlog=pl)
    return app.test_client()


def _post(client: Any, name: str) -> tuple[int, str, dict[str, str]]:
    response = client.post(f"/v1/chat/{name}", json={"messages": [{"content": "hello"}]})
    body = response.get_data(as_text=True) if hasattr(response, "get_data") else response.text
    return response.status_code, body, dict(response.headers)


@pytest.mark.parametrize("framework", ["fastapi", "flask"])
def test_a_blocked_stream_is_cut_before_the_blocked_part(
    tmp_path: Path, framework: str, rng: random.Random
) -> None:
    phone = canaries.cn_mobile(rng)
    reply = PREFIX + f"Call {phone} for supplies. " + BLOCKED + " The rest never leaves."
    pieces = _words(reply)
    pl = privlog_with_rules(tmp_path)
    try:
        client = (_fastapi if framework == "fastapi" else _flask)(pl, {"s": ("sse", pieces)})
        status, body, _ = _post(client, "s")
        received = _sse_text(body)
        assert status == 200  # the stream had begun: it is cut, not replaced
        assert received
        assert reply.startswith(received)  # what arrived is the reply's start
        assert PREFIX[:60] in received
        assert "counterfeit" not in body  # not even the first word of the blocked phrase
        assert "never leaves" not in body
        assert "event: privlog.blocked" in body
        error = json.loads(body.split("event: privlog.blocked\ndata: ")[1].split("\n")[0])
        assert error["error"]["categories"] == ["fraud"]
        record = stored(pl)[-1]
        assert "content_blocked" in record["flags"]
        content = json.loads(record["content"])
        assert content["output"]["action"] == "block"
        assert content["output"]["rules"] == ["fraud-block"]
        [entry] = register_rows(pl)
        assert (entry["direction"], entry["rule_id"], entry["action"]) == (
            "output",
            "fraud-block",
            "block",
        )
        assert entry["record_id"] == record["record_id"]
        assert "counterfeit notes" in entry["excerpt"]
        assert canaries.find_leaks(json.dumps(entry), [phone]) == []
        assert "<PHONE_NUMBER" in entry["excerpt"]  # scrubbed, not dropped
    finally:
        pl.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("privlog.db*"))
    assert canaries.find_leaks(raw, [phone]) == []


@pytest.mark.parametrize("framework", ["fastapi", "flask"])
def test_a_blocked_whole_reply_is_replaced_by_a_451(tmp_path: Path, framework: str) -> None:
    pl = privlog_with_rules(tmp_path)
    replies = {
        "json": ("json", PREFIX + BLOCKED),
        "text": ("text", "Sure. Here is the pipe  bomb recipe you asked for."),
        "ok": ("json", "An invoice lists what was sold, to whom and for how much."),
    }
    try:
        client = (_fastapi if framework == "fastapi" else _flask)(pl, replies)
        for name in ("json", "text"):
            status, body, headers = _post(client, name)
            assert status == 451
            assert json.loads(body)["error"]["type"] == "content_refused"
            assert "Thanks for the question" not in body  # none of the reply
            assert "x-privlog-record" in {k.lower() for k in headers}
        status, body, _ = _post(client, "ok")
        assert status == 200
        assert json.loads(body)["choices"][0]["message"]["content"].startswith("An invoice")
        rows = stored(pl)
        assert [r["status"] for r in rows] == [451, 451, 200]
        assert [json.loads(r["content"])["output"]["action"] for r in rows] == [
            "block",
            "block",
            "allow",
        ]
        assert [e["rule_id"] for e in register_rows(pl)] == ["fraud-block", "weapons-out"]
    finally:
        pl.close()


def test_a_flagged_reply_is_delivered_whole_and_registered(tmp_path: Path) -> None:
    pl = privlog_with_rules(tmp_path)
    reply = PREFIX + "A fake invoice is a crime; report one to the tax office."
    try:
        client = _fastapi(pl, {"f": ("sse", _words(reply)), "j": ("json", reply)})
        status, body, _ = _post(client, "f")
        assert (status, _sse_text(body)) == (200, "".join(_words(reply)))
        assert "privlog.blocked" not in body
        status, body, _ = _post(client, "j")
        assert status == 200
        assert json.loads(body)["choices"][0]["message"]["content"] == reply
        entries = register_rows(pl)
        assert sorted((e["rule_id"], e["action"], e["status"]) for e in entries) == [
            ("fraud-flag", "flag", "open"),
            ("fraud-flag", "flag", "open"),
            ("near-duplicate", "flag", "open"),  # a copy of a flagged reply: flagged, linked
        ]
        first = min(entries, key=lambda e: e["discovered_at"])
        copy = next(e for e in entries if e["rule_id"] == "near-duplicate")
        assert copy["related_to"] == first["id"]
        assert copy["similarity"] > 0.95
        assert {json.loads(r["content"])["action"] for r in stored(pl)} == {"flag"}
    finally:
        pl.close()


def test_ndjson_streams_end_with_an_error_line_and_binary_replies_pass(tmp_path: Path) -> None:
    pl = privlog_with_rules(tmp_path)
    replies = {
        "n": ("ndjson", _words(PREFIX + BLOCKED)),
        "img": ("png", "counterfeit notes inside a picture's bytes"),
    }
    try:
        client = _fastapi(pl, replies)
        status, body, _ = _post(client, "n")
        lines = [json.loads(line) for line in body.splitlines()]
        assert status == 200
        assert "counterfeit" not in body
        assert lines[-1]["error"]["type"] == "content_refused"
        assert "".join(line.get("response", "") for line in lines[:-1]).startswith("Thanks")
        status, body, _ = _post(client, "img")
        assert (status, body) == (200, "counterfeit notes inside a picture's bytes")
    finally:
        pl.close()


def _guard(pl: Privlog, content_type: str, length: int | None = None) -> ReplyGuard:
    headers = {"content-type": content_type}
    if length is not None:
        headers["content-length"] = str(length)
    guard = ReplyGuard.for_reply(pl, RequestContext(route="/x"), headers)
    assert guard is not None
    return guard


def test_no_split_of_a_stream_releases_any_of_a_blocked_phrase(
    tmp_path: Path, rng: random.Random
) -> None:
    """Whatever the piece boundaries (in the middle of the phrase, of a word, of a UTF-8
    character), the released bytes never hold any of the blocked phrase."""
    pl = privlog_with_rules(tmp_path)
    try:
        for trial in range(200):
            lead = PREFIX[: rng.randrange(0, len(PREFIX))]
            phrase = rng.choice(["counterfeit notes", "假钞制作", "COUNTERFEIT\u200b notes"])
            text = f"{lead}é中 {phrase} and then more text follows here."
            data = text.encode()
            cuts = sorted(rng.sample(range(1, len(data)), rng.randrange(1, 12)))
            guard = _guard(pl, "text/plain; charset=utf-8")
            sent = b""
            for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
                sent += guard.feed(data[a:b])
            sent += guard.end()
            assert guard.blocked, trial
            released = sent.decode("utf-8", "replace")
            assert text.startswith(released.rstrip("\ufffd")), trial
            assert len(released) <= len(lead) + 3, (trial, released, lead)
    finally:
        pl.close()


def test_long_streams_keep_a_small_buffer_and_pass_unchanged(tmp_path: Path) -> None:
    pl = privlog_with_rules(tmp_path)
    try:
        guard = _guard(pl, "text/event-stream")
        events = [f"data: {json.dumps({'delta': f'word{i} '})}\n\n".encode() for i in range(20_000)]
        sent = b"".join(guard.feed(e) for e in events) + guard.end()
        assert sent == b"".join(events)
        assert not guard.blocked
        assert len(guard._text) < 20_000  # released text is forgotten as the stream goes
    finally:
        pl.close()


def test_reply_kinds_and_json_text() -> None:
    assert reply_kind("text/event-stream; charset=utf-8") == "sse"
    assert reply_kind("application/problem+json") == "json"
    assert reply_kind("application/x-ndjson") == "ndjson"
    assert reply_kind("text/markdown") == "text"
    assert reply_kind("image/png") is None
    assert reply_kind("application/octet-stream") is None
    openai = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m",
              "choices": [{"delta": {"role": "assistant", "content": "Hel"}}]}  # fmt: skip
    assert json_text(openai) == "Hel"
    anthropic = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "lo"}}
    assert json_text(anthropic) == "lo"
    parts = {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    assert json_text(parts, joiner="\n") == "a\nb"
    assert json_text({"msg": "free form", "n": 1}) == "free form"


def test_compressed_replies_are_not_read(tmp_path: Path) -> None:
    pl = privlog_with_rules(tmp_path)
    try:
        headers = {"content-type": "text/plain", "content-encoding": "gzip"}
        assert ReplyGuard.for_reply(pl, RequestContext(route="/x"), headers) is None
    finally:
        pl.close()


def test_a_reply_longer_than_the_cap_is_read_as_a_stream(tmp_path: Path) -> None:
    from privlog.config import HttpPolicy

    pl = privlog_with_rules(tmp_path)
    pl.settings = pl.settings.__class__(
        database_url=pl.settings.database_url,
        key_file=pl.settings.key_file,
        policy=pl.settings.policy.__class__(
            detection=pl.settings.policy.detection,
            content=pl.settings.policy.content,
            http=HttpPolicy(max_inspect_bytes=4096),
        ),
    )
    try:
        guard = _guard(pl, "application/json")
        body = json.dumps({"content": PREFIX * 40 + BLOCKED}).encode()
        sent = b"".join(guard.feed(body[i : i + 500]) for i in range(0, len(body), 500))
        sent += guard.end()
        assert guard.blocked
        assert not guard.whole
        assert 4096 <= len(sent) < body.index(b"counterfeit")
    finally:
        pl.close()


@pytest.mark.parametrize(
    "padding",
    [" " * 80, "\u200b" * 80, "\n" * 40 + "\t" * 40],
    ids=["spaces", "zero-width", "line-breaks"],
)
def test_padding_cannot_stretch_a_match_past_the_window(tmp_path: Path, padding: str) -> None:
    """The window counts characters as the rules see them, so padding between the words
    of a keyword or a pattern does not let its first part out."""
    pl = privlog_with_rules(tmp_path)
    try:
        for first, last in (("counterfeit", "notes"), ("pipe", "bomb recipe")):
            pieces = [*_words(PREFIX), first + " ", *padding, last, " and more"]
            guard = _guard(pl, "text/event-stream")
            events = b"".join(guard.feed(e.encode()) for e in _sse(pieces)) + guard.end()
            text = _sse_text(events.decode())
            assert guard.blocked, first
            assert first not in text, first
            assert text.startswith("Thanks")
    finally:
        pl.close()


def test_whole_sse_and_ndjson_bodies_are_read_as_events(tmp_path: Path) -> None:
    """A non-streamed SSE or NDJSON body (declared length) is parsed like a stream: deltas
    join across events, JSON escapes are decoded."""
    pl = privlog_with_rules(tmp_path)
    try:
        sse = "".join(_sse(["Print the counterfeit", " notes now"])).encode()
        ndjson = json.dumps({"response": "假钞"}) + "\n" + json.dumps({"response": "制作"}) + "\n"
        for content_type, body in (
            ("text/event-stream", sse),
            ("application/x-ndjson", ndjson.encode()),  # json.dumps escapes: \u5047...
        ):
            guard = _guard(pl, content_type, len(body))
            assert guard.whole
            assert guard.feed(body) + guard.end() == b""
            assert guard.blocked, content_type
            assert guard.refusal()[0] == 451
    finally:
        pl.close()


def test_a_large_json_reply_with_escaped_text_is_still_checked(tmp_path: Path) -> None:
    from privlog.config import HttpPolicy

    pl = privlog_with_rules(tmp_path)
    pl.settings = dataclasses.replace(
        pl.settings,
        policy=dataclasses.replace(pl.settings.policy, http=HttpPolicy(max_inspect_bytes=2048)),
    )
    try:
        body = json.dumps({"content": "说明" * 2000 + "假钞制作的步骤如下"}).encode()
        assert b"\\u5047" in body  # ASCII-only JSON: the phrase is only in escapes
        guard = _guard(pl, "application/json")
        sent = b"".join(guard.feed(body[i : i + 333]) for i in range(0, len(body), 333))
        sent += guard.end()
        assert guard.blocked
        assert b"\\u5047\\u949e" not in sent
    finally:
        pl.close()


def test_a_guard_fault_never_breaks_or_truncates_the_reply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the guard itself fails, the reply goes out whole and unchecked (the error is
    counted), in both adapters, for whole and streamed replies alike."""
    from privlog import inbound

    pl = privlog_with_rules(tmp_path)
    calls = [0]

    def broken(self: ReplyGuard, chunk: bytes) -> bytes:
        calls[0] += 1
        raise RuntimeError("guard bug")

    monkeypatch.setattr(ReplyGuard, "feed", broken)
    long_text = "x" * 30_000
    try:
        before = inbound.internal_errors()
        for make in (_fastapi, _flask):
            client = make(pl, {"t": ("text", long_text), "s": ("sse", _words("a b c d"))})
            status, body, headers = _post(client, "t")
            assert (status, body) == (200, long_text)
            lengths = {k.lower(): v for k, v in headers.items()}.get("content-length")
            assert lengths in (None, str(len(long_text)))
            status, body, _ = _post(client, "s")
            assert (status, _sse_text(body)) == (200, "a b c d ")
        assert inbound.internal_errors() - before == calls[0] >= 4
    finally:
        pl.close()


def test_deeply_nested_json_replies_do_not_break_flask(tmp_path: Path) -> None:
    pl = privlog_with_rules(tmp_path)
    try:
        from flask import Flask, Response

        from privlog.adapters.flask import PrivlogFlask

        app = Flask("t")
        deep = "[" * 100_000 + "]" * 100_000

        @app.get("/deep")
        def deep_view() -> Response:
            return Response(deep, mimetype="application/json")

        PrivlogFlask(app, privlog=pl)
        response = app.test_client().get("/deep")
        assert (response.status_code, len(response.get_data())) == (200, len(deep))
    finally:
        pl.close()


def test_a_cut_stops_the_apps_stream(tmp_path: Path) -> None:
    """After a cut, the app's generator is stopped in both adapters (the model stops)."""
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse
    from flask import Flask, Response

    from privlog.adapters.asgi import PrivlogMiddleware
    from privlog.adapters.flask import PrivlogFlask

    pl = privlog_with_rules(tmp_path)
    pieces = [*_words(PREFIX + BLOCKED), *["more "] * 500]
    produced: dict[str, int] = {"fastapi": 0, "flask": 0}

    def counted(name: str) -> Iterator[str]:
        for event in _sse(pieces):
            produced[name] += 1
            yield event

    api = FastAPI()

    @api.get("/s")
    def asgi_stream() -> StreamingResponse:
        return StreamingResponse(counted("fastapi"), media_type="text/event-stream")

    api.add_middleware(PrivlogMiddleware, privlog=pl)
    app = Flask("t")

    @app.get("/s")
    def flask_stream() -> Response:
        return Response(counted("flask"), mimetype="text/event-stream")

    PrivlogFlask(app, privlog=pl)
    try:
        assert "privlog.blocked" in TestClient(api).get("/s").text
        flask_response = app.test_client().get("/s")
        assert "privlog.blocked" in flask_response.get_data(as_text=True)
        flask_response.close()
        cut_at = len(_words(PREFIX + BLOCKED))
        assert produced["fastapi"] <= cut_at + 1
        assert produced["flask"] <= cut_at + 1
        rows = stored(pl)
        assert [json.loads(r["content"])["output"]["action"] for r in rows] == ["block"] * 2
        assert all("aborted" not in r["flags"] for r in rows)  # a cut is not an error
    finally:
        pl.close()


def test_streamed_flask_replies_to_head_are_recorded(tmp_path: Path) -> None:
    from flask import Flask, Response

    from privlog.adapters.flask import PrivlogFlask

    pl = privlog_with_rules(tmp_path)
    app = Flask("t")

    @app.route("/s", methods=["GET", "HEAD"])
    def stream() -> Response:
        return Response(_sse(_words("hello there")), mimetype="text/event-stream")

    PrivlogFlask(app, privlog=pl)
    try:
        client = app.test_client()
        head = client.head("/s")
        head.close()
        assert head.status_code == 200
        get = client.get("/s")
        assert _sse_text(get.get_data(as_text=True)) == "hello there "
        get.close()
        assert [r["method"] for r in stored(pl)] == ["HEAD", "GET"]
    finally:
        pl.close()
