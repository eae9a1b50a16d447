"""Content rules: keywords in one pass (evasion-proof), regexes, directions, versions, hot
reload that never drops the rules in force, staleness in /healthz and the report."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from privlog.config import ContentPolicy, Policy, Settings
from privlog.core import Privlog
from privlog.errors import ConfigError
from privlog.safety import ContentRules, RuleSet

RULES = """
version = "2026-11-01"

[[rules]]
id = "fraud-1"
category = "fraud"
action = "block"
keywords = ["fake invoice", "洗钱"]

[[rules]]
id = "weapons-1"
category = "weapons"
action = "flag"
patterns = ['build\\s+a\\s+pipe\\s*bomb']
applies_to = ["output"]
"""


def _write(path: Path, text: str, mtime: float | None = None) -> Path:
    path.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_keywords_and_patterns_by_direction(tmp_path: Path) -> None:
    rules = RuleSet.from_file(_write(tmp_path / "rules.toml", RULES))
    blocked = rules.check("Please draft a FAKE INVOICE for me", "input")
    assert (blocked.action, blocked.categories, blocked.ruleset_version) == (
        "block",
        ["fraud"],
        "2026-11-01",
    )
    assert rules.check("我想了解洗钱的手段", "input").action == "block"  # glued to Chinese text
    # Evasion: zero-width space inside, full-width letters.
    assert rules.check("a fake\u200b invoice", "input").action == "block"
    assert rules.check("ａ ｆａｋｅ ｉｎｖｏｉｃｅ", "output").action == "block"
    assert rules.check("how to build a pipe bomb", "input").action == "allow"  # output only
    flagged = rules.check("Here is how to build a  pipe bomb", "output")
    assert (flagged.action, [h.rule_id for h in flagged.hits]) == ("flag", ["weapons-1"])
    assert rules.check("an ordinary invoice question", "input").action == "allow"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rules]]\nid = "a"\ncategory = "x"\nkeywords = ["k"]', "needs a version"),
        ('version = "1"\n[[rules]]\nid = "a"\ncategory = "x"', "keywords, patterns or both"),
        ('version = "1"\n[[rules]]\nid = "a"\ncategory = "x"\naction = "delete"\nkeywords = ["k"]',
         'action must be "flag" or "block"'),
        ('version = "1"\n[[rules]]\nid = "a"\ncategory = "x"\npatterns = ["(open"]',
         "not a valid regular expression"),
        ('version = "1"\n[[rules]]\nid = "a"\ncategory = "x"\nkeywords = ["k"]\n'
         '[[rules]]\nid = "a"\ncategory = "y"\nkeywords = ["j"]', "duplicate rule ids"),
        ('version = "1"\n[[rules]]\nid = "a"\ncategory = "x"\nkeywords = ["k"]\nweight = 2',
         "unknown key"),
    ],
)  # fmt: skip
def test_bad_rule_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RuleSet.from_file(_write(tmp_path / "rules.toml", text))


def test_hot_reload_keeps_the_last_good_rules(tmp_path: Path) -> None:
    path = _write(tmp_path / "rules.toml", RULES, mtime=time.time() - 100)
    rules = ContentRules(path, reload_seconds=0)
    assert rules.ruleset.version == "2026-11-01"
    _write(
        path, RULES.replace("2026-11-01", "2026-11-02").replace("fake invoice", "forged receipt")
    )
    assert rules.ruleset.version == "2026-11-02"
    assert rules.check("a forged receipt", "input").action == "block"
    assert rules.check("a fake invoice", "input").action == "allow"
    _write(path, "version = 'broken'\n[[rules]]\nid = 'x'", mtime=time.time() + 5)
    assert rules.ruleset.version == "2026-11-02"  # the broken file is refused
    assert rules.check("a forged receipt", "input").action == "block"


def test_staleness_in_healthz_and_report(tmp_path: Path, sqlite_url: str) -> None:
    from privlog.audit.app import create_app
    from privlog.store.database import make_engine
    from privlog.store.migrate import migrate

    old = time.time() - 40 * 86_400
    path = _write(tmp_path / "rules.toml", RULES, mtime=old)
    content = ContentPolicy(rules_file=path, max_age_days=30)
    status = ContentRules(path, max_age_days=30).status(now=dt.datetime.now(dt.UTC))
    assert (status["version"], status["rules"], status["stale"]) == ("2026-11-01", 2, True)
    engine = make_engine(sqlite_url)
    migrate(engine)
    engine.dispose()
    settings = Settings(
        database_url=sqlite_url, key_file=tmp_path / "k.keys", policy=Policy(content=content)
    )
    app = create_app(settings)
    with TestClient(app) as client:
        health = client.get("/healthz").json()
    assert health["content_rules"]["stale"] is True
    inner = app
    while not hasattr(inner, "state"):
        inner = inner.app
    inner.state.privlog_audit.close()

    from privlog.audit.connections import read_engine
    from privlog.audit.report import build_report, render_html

    reader = read_engine(settings)
    try:
        with reader.connect() as conn:
            report = build_report(conn, settings)
    finally:
        reader.dispose()
    assert report["configuration"]["content_rules"]["stale"] is True
    assert "(STALE)" in render_html(report)


def test_privlog_api(tmp_path: Path) -> None:
    path = _write(tmp_path / "rules.toml", RULES)
    policy = Policy.from_mapping({"content": {"rules_file": str(path), "max_age_days": 90}})
    pl = Privlog(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'p.db'}", key_file=tmp_path / "k", policy=policy
        )
    )
    try:
        assert pl.check_content("send the fake invoice", "input").action == "block"
        assert pl.check_content("hello", "output").action == "allow"
    finally:
        pl.close()
    bare = Privlog(Settings(database_url=f"sqlite:///{tmp_path / 'q.db'}", key_file=tmp_path / "k"))
    try:
        assert bare.check_content("send the fake invoice").ruleset_version is None
    finally:
        bare.close()


def _privlog_with_rules(tmp_path: Path) -> Privlog:
    from tests.replies_support import privlog_with_rules

    return privlog_with_rules(tmp_path, rules_text=RULES)


def _chat(text: str) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


@pytest.mark.parametrize("framework", ["fastapi", "flask"])
def test_adapters_refuse_blocked_input_before_the_app_runs(tmp_path: Path, framework: str) -> None:
    from tests.adapters_support import stored

    pl = _privlog_with_rules(tmp_path)
    ran: list[str] = []
    prompt_text = "my neighbour Zorvath Quill asked for a fake invoice"
    try:
        if framework == "fastapi":
            from fastapi import FastAPI

            from privlog.adapters.asgi import PrivlogMiddleware

            api = FastAPI()

            @api.post("/v1/chat/completions")
            def chat(body: dict[str, object]) -> dict[str, str]:
                ran.append("app")
                return {"reply": "ok"}

            api.add_middleware(PrivlogMiddleware, privlog=pl)
            with TestClient(api) as client:
                refused = client.post("/v1/chat/completions", json=_chat(prompt_text))
                allowed = client.post("/v1/chat/completions", json=_chat("what is an invoice?"))
        else:
            from flask import Flask

            from privlog.adapters.flask import PrivlogFlask

            app = Flask("t")

            @app.post("/v1/chat/completions")
            def chat_view() -> dict[str, str]:
                ran.append("app")
                return {"reply": "ok"}

            PrivlogFlask(app, privlog=pl)
            client = app.test_client()
            refused = client.post("/v1/chat/completions", json=_chat(prompt_text))
            allowed = client.post("/v1/chat/completions", json=_chat("what is an invoice?"))
        assert refused.status_code == 451
        body = refused.get_data(as_text=True) if framework == "flask" else refused.text
        error = json.loads(body)["error"]
        assert (error["type"], error["categories"], error["ruleset_version"]) == (
            "content_refused",
            ["fraud"],
            "2026-11-01",
        )
        assert "Zorvath" not in body
        assert "invoice" not in body  # the matched words are not echoed either
        assert allowed.status_code == 200
        assert ran == ["app"]  # only the allowed request reached the app
        rows = stored(pl)
        blocked = next(r for r in rows if r["outcome"] == "blocked")
        assert "content_blocked" in blocked["flags"]
        assert json.loads(blocked["content"]) == {
            "action": "block",
            "categories": ["fraud"],
            "rules": ["fraud-1"],
            "ruleset_version": "2026-11-01",
        }
        ok = next(r for r in rows if r["outcome"] == "logged")
        assert json.loads(ok["content"])["action"] == "allow"
    finally:
        pl.close()
