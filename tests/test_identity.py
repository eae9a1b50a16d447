"""The verified-identity gate and what records keep of an identity: 403 before the view
runs for unknown, unverified or wrongly verified subjects on the routes the policy names;
records keep the keyed token, ``verified`` and the method's name, and nothing the hook was
given reaches any sink."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, WebSocket
from fastapi.testclient import TestClient
from flask import Flask
from starlette.websockets import WebSocketDisconnect

from privlog import InvalidSubject, Privlog, Subject
from privlog.adapters.asgi import PrivlogMiddleware
from privlog.adapters.flask import PrivlogFlask
from privlog.config import HttpPolicy, Policy
from privlog.errors import ConfigError
from privlog.extract import ExtractionPolicy
from privlog.identity import IdentityPolicy, as_subject
from tests.adapters_support import make_privlog, stored
from tests.canaries import cn_mobile, cn_resident_id, find_leaks, pronounceable
from tests.storetools import database_bytes, migrated

GATE = IdentityPolicy(require_verified_identity=("/v1/*",), accepted_methods=("mobile", "id_card"))
Hook = Callable[[Any], Subject | str | None]
# (status, body) for a POST with these headers; and how many times the view ran.
Send = Callable[[str, dict[str, str], bytes], tuple[int, bytes]]


def _from_headers(headers: Any) -> Subject | str | None:
    """The app's hook: the user id from its session, the verification from its provider."""
    user = headers.get("x-user")
    if user is None:
        return None
    if headers.get("x-verified") is None:
        return str(user)
    return Subject(user, verified=headers["x-verified"] == "yes", method=headers.get("x-method"))


def _fastapi(pl: Privlog, hook: Hook, views: list[str]) -> Send:
    app = FastAPI()
    app.add_middleware(PrivlogMiddleware, privlog=pl, identify=lambda c: hook(c.headers))

    @app.post("/v1/chat")
    async def chat(request: Request) -> dict[str, str]:
        views.append("chat")
        await request.body()
        return {"reply": "ok"}

    @app.post("/health")
    async def health() -> dict[str, str]:
        views.append("health")
        return {"ok": "yes"}

    client = TestClient(app)

    def send(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        response = client.post(path, content=body, headers=headers)
        return response.status_code, response.content

    return send


def _flask(pl: Privlog, hook: Hook, views: list[str]) -> Send:
    app = Flask(__name__)
    PrivlogFlask(app, privlog=pl, identify=lambda r: hook(r.headers))

    @app.post("/v1/chat")
    def chat() -> dict[str, str]:
        views.append("chat")
        return {"reply": "ok"}

    @app.post("/health")
    def health() -> dict[str, str]:
        views.append("health")
        return {"ok": "yes"}

    client = app.test_client()

    def send(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        response = client.post(path, data=body, headers=headers)
        return response.status_code, response.data

    return send


FRAMEWORKS = pytest.mark.parametrize("framework", [_fastapi, _flask], ids=["fastapi", "flask"])
JSON = {"content-type": "application/json"}


@FRAMEWORKS
def test_gate_refuses_before_the_view_and_lets_verified_users_through(
    framework: Callable[[Privlog, Hook, list[str]], Send], db_url: str, tmp_path: Path
) -> None:
    pl = make_privlog(tmp_path, database_url=migrated(db_url), identity=GATE)
    views: list[str] = []
    send = framework(pl, _from_headers, views)
    body = b'{"prompt": "hello"}'
    cases = [
        ({}, 403, "unknown_subject"),
        ({"x-user": "u-1"}, 403, "unverified"),  # a bare id: nothing says it was verified
        ({"x-user": "u-2", "x-verified": "no"}, 403, "unverified"),
        ({"x-user": "u-3", "x-verified": "yes", "x-method": "face"}, 403, "method_not_accepted"),
        ({"x-user": "u-4", "x-verified": "yes"}, 403, "method_not_accepted"),
    ]
    for headers, status, reason in cases:
        got, answer = send("/v1/chat", {**JSON, **headers}, body)
        assert got == status, headers
        error = json.loads(answer)["error"]
        assert error["type"] == "identity_verification_required"
        assert error["reason"] == reason
        assert "verif" in error["message"]
    assert views == []  # the view never ran for a refused request
    verified = {"x-user": "u-5", "x-verified": "yes", "x-method": "mobile"}
    assert send("/v1/chat", {**JSON, **verified}, body)[0] == 200
    assert send("/health", JSON, body)[0] == 200  # a route the policy does not name
    assert views == ["chat", "health"]
    rows = stored(pl)
    pl.close()
    assert [r["status"] for r in rows] == [403] * 5 + [200, 200]
    for row in rows[:5]:
        assert row["outcome"] == "blocked"
        assert "identity_refused" in row["flags"]
        assert not row["text"]
        assert row["input_chars"] == 0
    assert [r["verified"] for r in rows] == [None, None, False, True, True, True, None]
    assert [r["verification_method"] for r in rows] == [
        None,
        None,
        None,
        "face",
        None,
        "mobile",
        None,
    ]
    assert rows[5]["text"] == {"prompt": "hello"}
    assert rows[0]["subject_token"] is None
    assert rows[5]["subject_token"].startswith("k1:")


@FRAMEWORKS
def test_gate_holds_on_routes_privlog_does_not_record(
    framework: Callable[[Privlog, Hook, list[str]], Send], tmp_path: Path
) -> None:
    """``[http] exclude`` takes a route out of the records, not out of the gate."""
    http = HttpPolicy(extraction=ExtractionPolicy(exclude=("/v1/chat",)))
    pl = make_privlog(tmp_path, identity=GATE, http=http)
    views: list[str] = []
    send = framework(pl, _from_headers, views)
    status, answer = send("/v1/chat", {**JSON, "x-user": "u-1"}, b"{}")
    assert status == 403
    assert json.loads(answer)["error"]["reason"] == "unverified"
    assert views == []
    verified = {"x-user": "u-1", "x-verified": "yes", "x-method": "mobile"}
    assert send("/v1/chat", {**JSON, **verified}, b"{}")[0] == 200
    assert views == ["chat"]
    assert stored(pl) == []  # still not recorded
    pl.close()


@FRAMEWORKS
def test_a_failing_hook_fails_closed(
    framework: Callable[[Privlog, Hook, list[str]], Send],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A hook that raises, or returns something that is not a subject, leaves the subject
    unknown: the gate refuses; the log names the error's type, never its message."""
    secret = cn_resident_id(random.Random(3))
    pl = make_privlog(tmp_path, identity=GATE)
    views: list[str] = []

    def broken(headers: Any) -> Subject:
        raise RuntimeError(f"provider said no for {secret}")

    for hook in (broken, lambda headers: 42):
        with caplog.at_level(logging.DEBUG):
            status, _ = framework(pl, hook, views)("/v1/chat", JSON, b"{}")
        assert status == 403
    assert views == []
    pl.close()
    assert "internal error in identify (RuntimeError)" in caplog.text
    assert "internal error in identify (InvalidSubject)" in caplog.text
    assert find_leaks(caplog.text, [secret]) == []


@FRAMEWORKS
def test_identity_evidence_given_to_the_hook_reaches_no_sink(
    framework: Callable[[Privlog, Hook, list[str]], Send],
    db_url: str,
    tmp_path: Path,
    rng: random.Random,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The app's hook gets the verification provider's result (resident ID number, phone
    number, name) and uses the phone number as the user id: the records hold its keyed
    token, ``verified`` and the method; no canary is in the database, the log or any reply.
    A hook that passes the ID number as the method is refused (403) without quoting it; one
    that passes the name gets "other" stored (and 403 here: not an accepted method)."""
    pl = make_privlog(tmp_path, database_url=migrated(db_url), identity=GATE)
    views: list[str] = []
    planted: list[str] = []

    def from_provider(headers: Any) -> Subject:
        result = {  # what a verification provider hands back
            "id_number": headers["x-id-number"],
            "phone": headers["x-phone"],
            "name": headers["x-name"],
            "passed": True,
        }
        misuse = headers.get("x-misuse")
        # Misuse: the ID number as the method (refused), or the name (a name-shaped method).
        method = {"id": result["id_number"], "name": result["name"].lower()}.get(misuse, "id_card")
        return Subject(result["phone"], verified=result["passed"], method=method)

    send = framework(pl, from_provider, views)
    answers = []
    with caplog.at_level(logging.DEBUG):
        for i in range(20):
            idn, phone, name = cn_resident_id(rng), cn_mobile(rng), pronounceable(rng)
            planted += [idn, phone, name]
            headers = {**JSON, "x-id-number": idn, "x-phone": phone, "x-name": name}
            if i % 5 == 4:
                headers["x-misuse"] = "id"
            elif i % 5 == 3:
                headers["x-misuse"] = "name"
            body = f'{{"prompt": "my phone is {phone} and my id {idn}"}}'.encode()
            status, answer = send("/v1/chat", headers, body)
            assert status == (403 if i % 5 >= 3 else 200)
            answers.append(answer)
        rows = stored(pl)
    pl.close()
    assert len(rows) == 20
    assert len(views) == 12
    assert {r["verification_method"] for r in rows} == {"id_card", "other", None}
    assert all(r["subject_token"] for r in rows[:4])
    sinks = [*database_bytes(db_url), caplog.text.encode(), *answers]
    assert [hit for blob in sinks for hit in find_leaks(blob, planted)] == []


def test_subject_keeps_names_not_values() -> None:
    assert Subject("u-1", verified=True, method="id_card").method == "id_card"
    assert "u-1" not in repr(Subject("u-1"))
    for bad in ("13812345678", "id card", "Mobile", "x" * 33, ""):
        with pytest.raises(InvalidSubject, match="name the verification method"):
            Subject("u-1", verified=True, method=bad)
    with pytest.raises(InvalidSubject, match="only for a verified subject"):
        Subject("u-1", method="mobile")
    with pytest.raises(InvalidSubject, match="1 to 512"):
        Subject("")
    with pytest.raises(InvalidSubject, match="True, False or None"):
        Subject("u-1", verified="yes")  # type: ignore[arg-type]
    assert as_subject("u-1") == Subject("u-1")
    assert as_subject("") is None
    assert as_subject(None) is None
    with pytest.raises(InvalidSubject, match="not int"):
        as_subject(42)


def test_log_input_keeps_verification(tmp_path: Path) -> None:
    pl = make_privlog(tmp_path)
    pl.log_input({"prompt": "a"}, route="/r", subject=Subject("u", verified=True, method="mobile"))
    pl.log_input({"prompt": "b"}, route="/r", subject=Subject("u", verified=False))
    pl.log_input({"prompt": "c"}, route="/r", subject=Subject("u"))
    pl.log_input({"prompt": "d"}, route="/r", subject="u")
    rows = stored(pl)
    pl.close()
    assert [(r["verified"], r["verification_method"]) for r in rows] == [
        (True, "mobile"),
        (False, None),
        (None, None),
        (None, None),
    ]
    assert len({r["subject_token"] for r in rows}) == 1


def test_identity_policy_from_the_policy_file() -> None:
    policy = Policy.from_mapping(
        {"identity": {"require_verified_identity": ["/v1/*"], "accepted_methods": ["mobile"]}}
    )
    assert policy.identity.required_for("/v1/chat")
    assert not policy.identity.required_for("/x")
    everywhere = Policy.from_mapping({"identity": {"require_verified_identity": True}})
    assert everywhere.identity.required_for("/anything")
    assert not Policy().identity.required_for("/v1/chat")  # off by default
    for bad, message in (
        ({"require_verified_identity": "yes"}, "true, false or a list of route patterns"),
        ({"accepted_methods": ["sms2"]}, "is not a method name"),
        ({"require": True}, "unknown key"),
    ):
        with pytest.raises(ConfigError, match=message):
            Policy.from_mapping({"identity": bad})


def test_gate_holds_for_websockets(tmp_path: Path) -> None:
    pl = make_privlog(tmp_path, identity=GATE)
    app = FastAPI()
    app.add_middleware(PrivlogMiddleware, privlog=pl, identify=lambda c: _from_headers(c.headers))
    opened: list[str] = []

    @app.websocket("/v1/stream")
    async def stream(socket: WebSocket) -> None:
        opened.append("stream")
        await socket.accept()
        await socket.send_text("hi")
        await socket.close()

    client = TestClient(app)
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/v1/stream"):
        pass
    assert refused.value.code == 1008  # policy violation
    assert opened == []
    verified = {"x-user": "u-1", "x-verified": "yes", "x-method": "mobile"}
    with client.websocket_connect("/v1/stream", headers=verified) as socket:
        assert socket.receive_text() == "hi"
    assert opened == ["stream"]
    pl.close()


def test_only_known_or_accepted_methods_are_kept_by_name() -> None:
    assert GATE.stored_method("mobile") == "mobile"
    assert GATE.stored_method("zhang.wei") == "other"  # name-shaped: never kept
    assert IdentityPolicy(accepted_methods=("wechat-kyc",)).stored_method("wechat-kyc") == (
        "wechat-kyc"
    )
    assert GATE.stored_method(None) is None
