"""The Flask extension: init_app, body access in any order, blocking, records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request

from privlog.adapters.flask import PrivlogFlask
from privlog.config import HttpPolicy
from privlog.context import current_request
from tests.adapters_support import make_privlog, stored

PHONE = "13800138000"
BODIES: dict[str, tuple[str, bytes]] = {
    "json": ("application/json", json.dumps({"prompt": f"call {PHONE}"}).encode()),
    "urlencoded": ("application/x-www-form-urlencoded", f"prompt=call+{PHONE}".encode()),
    "multipart": (
        "multipart/form-data; boundary=B",
        (
            f'--B\r\nContent-Disposition: form-data; name="prompt"\r\n\r\ncall {PHONE}\r\n--B--\r\n'
        ).encode(),
    ),
    "octet-stream": ("application/octet-stream", f"call {PHONE}".encode()),
}
EXPECTED_FIELD = {"json": "prompt", "urlencoded": "form.prompt", "multipart": "form.prompt"}


def _view_reads(how: str) -> Any:
    if how == "form":
        return dict(request.form)
    if how == "json":
        return request.get_json(silent=True)
    if how == "data":
        return request.data.decode()
    return request.get_data(as_text=True)


def _app(pl: Any, how: str, parse_first: bool = False) -> Flask:
    app = Flask(__name__)
    if parse_first:
        # Registered before privlog: reads the form first, consuming the stream.
        @app.before_request
        def eager() -> None:
            _ = request.form

    PrivlogFlask(app, privlog=pl, identify=lambda req: req.headers.get("X-User"))

    @app.post("/v1/chat")
    def chat() -> Any:
        ctx = current_request.get()
        return {"seen": _view_reads(how), "record": ctx.record_id if ctx else None}

    return app


@pytest.mark.parametrize("kind", sorted(BODIES))
@pytest.mark.parametrize("how", ["form", "json", "data", "get_data"])
def test_every_order_of_body_access(tmp_path: Path, kind: str, how: str) -> None:
    """Whatever the content type and however the view reads the body, the view sees it as
    without privlog (one documented difference: ``request.data`` on a form post holds the raw
    body instead of nothing, because the body was cached before the form was parsed), and
    the record holds the scrubbed input."""
    content_type, body = BODIES[kind]
    plain = Flask(__name__)

    @plain.post("/v1/chat")
    def chat() -> Any:
        return {"seen": _view_reads(how)}

    expected = plain.test_client().post("/v1/chat", data=body, content_type=content_type).json
    if how == "data" and kind in ("urlencoded", "multipart"):
        assert expected["seen"] == ""
        expected["seen"] = body.decode()
    pl = make_privlog(tmp_path)
    client = _app(pl, how).test_client()
    response = client.post(
        "/v1/chat", data=body, content_type=content_type, headers={"X-User": "u-1"}
    )
    assert response.json["seen"] == expected["seen"]
    (row,) = stored(pl)
    assert response.headers["X-Privlog-Record"] == row["record_id"] == response.json["record"]
    if kind in EXPECTED_FIELD:
        assert row["text"] == {EXPECTED_FIELD[kind]: "call <PHONE_NUMBER_1>"}
    else:
        assert not row["text"]
    assert PHONE not in json.dumps(row, default=str)
    assert row["subject_token"] in pl.subject_tokens("u-1")
    pl.close()


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
def test_form_parsed_before_privlog(tmp_path: Path, kind: str) -> None:
    """If another handler parsed the form before privlog, privlog takes the parsed fields."""
    content_type, body = BODIES[kind]
    pl = make_privlog(tmp_path)
    client = _app(pl, "form", parse_first=True).test_client()
    response = client.post("/v1/chat", data=body, content_type=content_type)
    assert response.json["seen"] == {"prompt": f"call {PHONE}"}
    (row,) = stored(pl)
    assert row["text"] == {"form.prompt": "call <PHONE_NUMBER_1>"}
    pl.close()


def test_init_app_pattern_and_double_registration(tmp_path: Path) -> None:
    """The extension supports the app-factory pattern, keeps its state in app.extensions,
    and refuses a second registration on the same app."""
    pl = make_privlog(tmp_path)
    ext = PrivlogFlask(privlog=pl)
    app = Flask(__name__)
    ext.init_app(app)
    assert app.extensions["privlog"].privlog is pl
    assert not hasattr(ext, "app")
    with pytest.raises(RuntimeError, match="already registered"):
        ext.init_app(app)
    pl.close()


def test_config_keys_override_the_environment(tmp_path: Path) -> None:
    """PRIVLOG_* keys in app.config choose the database and key file."""
    app = Flask(__name__)
    db = tmp_path / "from-config.db"
    app.config["PRIVLOG_DATABASE_URL"] = f"sqlite:///{db}"
    app.config["PRIVLOG_KEY_FILE"] = str(tmp_path / "k.keys")
    policy = tmp_path / "p.toml"
    policy.write_text('[detection]\nmodel = "none"\n')
    app.config["PRIVLOG_CONFIG"] = str(policy)
    PrivlogFlask(app)
    pl = app.extensions["privlog"].privlog
    assert pl.settings.database_url == f"sqlite:///{db}"
    app.test_client().post("/nothing", json={"prompt": "hi"})
    assert len(stored(pl)) == 1
    assert db.exists()
    pl.close()


def test_blocking_and_oversized_bodies(tmp_path: Path) -> None:
    """block_on answers 422 without running the view; a body over the cap is not read by
    privlog (flagged truncated) and the view still gets all of it."""
    pl = make_privlog(
        tmp_path, http=HttpPolicy(block_on=("CN_RESIDENT_ID",), max_inspect_bytes=1000)
    )
    app = _app(pl, "get_data")
    client = app.test_client()
    bad = client.post("/v1/chat", json={"prompt": "id 11010519491231002X"})
    big = client.post("/v1/chat", data=b"x" * 5000, content_type="text/plain")
    assert bad.status_code == 422
    assert "11010519491231002X" not in bad.get_data(as_text=True)
    assert big.json["seen"] == "x" * 5000
    rows = stored(pl)
    assert [r["outcome"] for r in rows] == ["blocked", "logged"]
    assert "truncated" in rows[1]["flags"]
    pl.close()


def test_view_errors_are_recorded_as_aborted(tmp_path: Path) -> None:
    """A view that raises still produces a record, flagged aborted, status 500."""
    pl = make_privlog(tmp_path)
    app = Flask(__name__)
    PrivlogFlask(app, privlog=pl)

    @app.post("/boom")
    def boom() -> Any:
        raise RuntimeError("view failed")

    assert app.test_client().post("/boom", json={"prompt": "x"}).status_code == 500
    (row,) = stored(pl)
    assert "aborted" in row["flags"]
    assert row["status"] == 500
    pl.close()


def test_gzip_bomb_and_deep_json(tmp_path: Path) -> None:
    """A gzip bomb is inflated only up to the cap (flagged truncated); JSON nested past 64
    levels is flagged unparseable; the views run either way."""
    import gzip

    pl = make_privlog(tmp_path, http=HttpPolicy(max_inspect_bytes=64 * 1024))
    app = _app(pl, "get_data")
    client = app.test_client()
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    r1 = client.post(
        "/v1/chat", data=bomb, content_type="application/json", headers={"Content-Encoding": "gzip"}
    )
    r2 = client.post("/v1/chat", data=b"[" * 100 + b"]" * 100, content_type="application/json")
    assert r1.status_code == 200
    assert r2.status_code == 200
    rows = stored(pl)
    assert "truncated" in rows[0]["flags"]
    assert "unparseable" in rows[1]["flags"]
    pl.close()
