"""The auditor dashboard in a real headless Chromium: sign-in, charts, chain status, the
records table with its filters and "more" pagination, the flagged-content panel (overdue
entries highlighted and labelled), the 401 path, and the page's discipline (no console
errors or CSP violations, no request to another origin)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Locator,
    Page,
    expect,
    sync_playwright,
)
from sqlalchemy import select

from privlog import Privlog
from privlog.audit.app import AuditService, create_app
from privlog.audit.tokens import create_token
from privlog.config import Policy, Settings, StorePolicy
from privlog.detect import DetectionSettings
from privlog.records import OUTCOMES
from privlog.store.database import make_engine
from privlog.store.migrate import migrate
from privlog.store.schema import records
from tests.audit_support import Planted, auditor_settings, flagged_row, plant_flagged
from tests.canaries import cn_mobile, email
from tests.storetools import scratch_database

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parent.parent / "artifacts" / "dashboard.png"
RECORDS = 60  # more than one page of 50
EGRESS = (
    {
        "destination": "api.example.test",
        "processor": "model",
        "action": "scrub",
        "entity_counts": {"EMAIL_ADDRESS": 1},
    },
)
# What Chromium itself prints for any 4xx response, fetch included; the page cannot stop it.
BROWSER_401 = "the server responded with a status of 401"


# Register entries planted beside the records: overdue (open past its deadline), remediated
# (past its deadline, but dealt with) and a fresh regenerated copy (open, not yet due).
OVERDUE = Planted("overdue", 0, "input", "fraud", "fraud.receipts", "flag", 100)
REMEDIATED = Planted(
    "remediated", 1, "output", "violence", "violence.weapons", "block", 120, remediated=True
)
FRESH_COPY = Planted(
    "copy", 2, "output", "violence", "near-duplicate", "block", 1, copy_of="remediated"
)


@dataclass
class Site:
    base: str
    token: str
    outcomes: dict[str, int]
    with_phone: int
    raw_values: list[str]


@dataclass
class Dashboard:
    page: Page
    base: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def sign_in(self, token: str) -> None:
        self.page.goto(self.base + "/")
        self.page.fill("#token-input", token)
        self.page.click("#signin-button")

    def assert_clean(self, *, allowed: str | None = None) -> None:
        errors = [e for e in self.errors if allowed is None or allowed not in e]
        assert errors == [], f"console errors or page errors: {errors}"
        foreign = [u for u in self.requests if not u.startswith(self.base + "/")]
        assert foreign == [], f"requests to another origin: {foreign}"


def _chromium() -> str:
    if CHROMIUM.is_file():
        return str(CHROMIUM)
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium for this test")
    pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium to run the dashboard test)")


def _populate(tmp: Path, url: str) -> tuple[Settings, dict[str, int], int, list[str]]:
    settings = Settings(
        database_url=url,
        key_file=tmp / "privlog.keys",
        policy=Policy(
            detection=DetectionSettings(model=None),
            store=StorePolicy(batch_interval=0.02),
        ),
    )
    rng = random.Random("test_dashboard")
    outcomes: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    with_phone = 0
    raw: list[str] = []
    pl = Privlog(settings)
    try:
        for i in range(RECORDS):
            mail = email(rng)
            prompt = f"please reply to {mail} about order {i}"
            raw.append(mail)
            if i % 2:
                phone = cn_mobile(rng)
                prompt += f", or call {phone}"
                raw.append(phone)
            outcome = OUTCOMES[i % 3]
            outcomes[outcome] += 1
            receipt = pl.log_input(
                {"prompt": prompt},
                route="/v1/chat" if i % 4 else "/v1/embeddings",
                subject=f"user-{i % 7}",
                tenant="acme" if i % 5 else "beta",
                method="POST",
                status=200,
                outcome=outcome,
                flags=("truncated",) if i % 10 == 0 else (),
                egress=EGRESS if i % 3 == 1 else (),
            )
            assert receipt.queued
            with_phone += "PHONE_NUMBER" in receipt.entity_counts
        assert pl.flush(10) == 0
    finally:
        pl.close()
    return settings, outcomes, with_phone, raw


def _service(app: Any) -> AuditService:
    """The service inside create_app's middleware stack (to dispose its engines)."""
    layer = app
    while layer is not None:
        state = getattr(layer, "state", None)
        if state is not None and hasattr(state, "privlog_audit"):
            service: AuditService = state.privlog_audit
            return service
        layer = getattr(layer, "app", None)
    raise AssertionError("no AuditService in the app")


@pytest.fixture(name="browser", scope="module")
def _browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(name="site", scope="module", params=["sqlite", "postgresql"])
def _site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The dashboard over a populated store: SQLite, and PostgreSQL through the auditor's
    least-privilege roles."""
    tmp = tmp_path_factory.mktemp("dashboard")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'privlog.db'}"
        else:
            base = os.environ.get("PRIVLOG_TEST_DATABASE_URL")
            if not base:
                pytest.skip("PRIVLOG_TEST_DATABASE_URL is not set: PostgreSQL tests need a server")
            url = stack.enter_context(scratch_database(base))
        yield from _serve(stack, tmp, url)


def _serve(stack: contextlib.ExitStack, tmp: Path, url: str) -> Iterator[Site]:
    import uvicorn

    engine = make_engine(url)
    try:
        migrate(engine)  # PostgreSQL is never migrated behind the operator's back
        _, outcomes, with_phone, raw = _populate(tmp, url)
        token = create_token(engine, "dash-test")
        with engine.connect() as conn:
            ids = conn.execute(
                select(records.c.record_id, records.c.tenant)
                .where(records.c.kind == "usage")
                .order_by(records.c.seq)
            ).all()
    finally:
        engine.dispose()
    _plant_register(url, ids)

    app = create_app(stack.enter_context(auditor_settings(url, tmp)))
    service = _service(app)
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive(), "the auditor server stopped while starting"
            assert time.monotonic() < deadline, "the auditor server did not start"
            time.sleep(0.02)
        try:
            yield Site(f"http://127.0.0.1:{port}", token, outcomes, with_phone, raw)
        finally:
            server.should_exit = True
            thread.join(10)
            assert not thread.is_alive(), "the auditor server did not stop"
    finally:
        sock.close()
        service.close()


def _plant_register(url: str, ids: list[Any]) -> None:
    """The three entries, each tied to a real usage record (and its tenant)."""
    now = dt.datetime.now(dt.UTC)
    rows = []
    for entry in (OVERDUE, REMEDIATED, FRESH_COPY):
        row = flagged_row(entry, now)
        row["record_id"], row["tenant"] = ids[entry.record]
        rows.append(row)
    plant_flagged(url, rows)


@pytest.fixture(name="dash")
def _dash(browser: Browser, site: Site) -> Iterator[Dashboard]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    dash = Dashboard(page, site.base)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            dash.errors.append(message.text)

    def on_page_error(error: Error) -> None:
        dash.errors.append(f"page error: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("request", lambda request: dash.requests.append(request.url))
    try:
        yield dash
    finally:
        context.close()


def test_dashboard_end_to_end(dash: Dashboard, site: Site) -> None:
    page = dash.page
    page.goto(site.base + "/")
    expect(page.locator("#token-input")).to_have_attribute("type", "password")
    dash.sign_in(site.token)

    for chart in ("#chart-days", "#chart-entities", "#chart-outcomes", "#chart-egress"):
        page.wait_for_selector(f'{chart}[data-drawn="true"] svg rect')
    assert page.locator("#chart-days svg rect.bar").count() >= 1
    expect(page.locator("#chart-entities svg")).to_have_attribute(
        "aria-label", "Entity types: EMAIL_ADDRESS 60, PHONE_NUMBER 30"
    )
    expect(page.locator("#t-records")).to_have_text(str(RECORDS))

    # The token is kept for this tab only.
    assert page.evaluate("sessionStorage.getItem('privlog.audit.token')") == site.token
    assert page.evaluate("localStorage.length") == 0

    # Chain: intact, every record verified, with its last checkpoint.
    expect(page.locator("#chain-status")).to_have_attribute("data-ok", "true")
    expect(page.locator("#chain-badge")).to_contain_text("ok")
    expect(page.locator("#chain-status")).to_contain_text("key k1")
    expect(page.locator("#access-status table tbody tr").first).to_be_visible()

    # Newest first, 50 per page, then the rest through the cursor.
    rows = page.locator("#records-body tr")
    expect(rows).to_have_count(50)
    assert rows.first.get_attribute("data-seq") == str(RECORDS)
    expect(page.locator("#records-status")).to_have_text(
        f"Showing 50 of {RECORDS} records, newest first"
    )
    page.screenshot(path=_screenshot_path(), full_page=True)
    page.click("#more")
    expect(rows).to_have_count(RECORDS)
    expect(page.locator("#more")).to_be_hidden()
    seqs = [int(s) for s in rows.evaluate_all("rs => rs.map(r => r.dataset.seq)")]
    assert seqs == list(range(RECORDS, 0, -1))

    # Only scrubbed text reaches the page.
    content = page.content()
    assert "&lt;EMAIL_ADDRESS_1&gt;" in content
    assert [v for v in site.raw_values if v in content] == []

    # Filters: outcome, then entity on top of it.
    page.select_option("#f-outcome", "blocked")
    expect(rows).to_have_count(site.outcomes["blocked"])
    expect(page.locator("#records-body .badge")).to_have_text(
        ["blocked"] * site.outcomes["blocked"]
    )
    expect(page.locator("#t-records")).to_have_text(str(site.outcomes["blocked"]))
    page.select_option("#f-outcome", "")
    page.fill("#f-entity", "phone_number")
    page.click("#apply-filters")
    expect(rows).to_have_count(site.with_phone)
    for text in rows.locator("td:nth-child(6)").all_inner_texts():
        assert "PHONE_NUMBER" in text

    # A time window before any record: an empty table and "no data" charts.
    page.click("#clear-filters")
    expect(rows).to_have_count(50)
    page.fill("#f-until", "2001-01-01T00:00")
    page.click("#apply-filters")
    expect(page.locator("#records-empty")).to_be_visible()
    expect(rows).to_have_count(0)
    expect(page.locator('#chart-days[data-drawn="true"] .no-data')).to_have_text("no data")

    # Sign out forgets the token and the data shown.
    page.click("#signout")
    expect(page.locator("#token-input")).to_be_visible()
    expect(rows).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('privlog.audit.token')") is None

    dash.assert_clean()


def _background(row: Locator) -> str:
    return str(row.evaluate("r => getComputedStyle(r).backgroundColor"))


def _colour(page: Page, variable: str) -> str:
    """A ``#rrggbb`` custom property of the style sheet, as computed styles spell colours."""
    value = str(
        page.evaluate(f"getComputedStyle(document.documentElement).getPropertyValue('{variable}')")
    ).strip()
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", value), value
    red, green, blue = (int(value[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_flagged_content_panel(dash: Dashboard, site: Site) -> None:
    page = dash.page
    dash.sign_in(site.token)
    rows = page.locator("#flagged-body tr")
    expect(rows).to_have_count(3)
    # Newest first.
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.entryId)") == [
        FRESH_COPY.id,
        OVERDUE.id,
        REMEDIATED.id,
    ]
    expect(page.locator("#fc-open")).to_have_text("2")
    expect(page.locator("#fc-overdue")).to_have_text("1")
    expect(page.locator("#fc-remediated")).to_have_text("1")
    expect(page.locator("#fc-regenerated")).to_have_text("1")
    expect(page.locator("#fc-overdue")).to_have_class(re.compile(r"\btile-alert\b"))
    expect(page.locator("#flagged-status")).to_have_text("Showing 3 of 3 entries, newest first")

    # The overdue row is highlighted and says so in words; the others are not.
    late = page.locator(f'#flagged-body tr[data-entry-id="{OVERDUE.id}"]')
    done = page.locator(f'#flagged-body tr[data-entry-id="{REMEDIATED.id}"]')
    fresh = page.locator(f'#flagged-body tr[data-entry-id="{FRESH_COPY.id}"]')
    expect(late).to_have_class(re.compile(r"\boverdue\b"))
    expect(late.locator(".badge-overdue")).to_have_text("overdue")
    expect(late.locator(".badge-overdue")).to_be_visible()
    for row in (done, fresh):
        expect(row).not_to_have_class(re.compile(r"\boverdue\b"))
        expect(row.locator(".badge-overdue")).to_have_count(0)
    expect(done.locator("td").nth(6)).to_contain_text("remediated")
    expect(fresh.locator("td").nth(2)).to_contain_text("copy of")
    assert _background(late) == _colour(page, "--bad-soft")
    assert _background(late) not in {_background(done), _background(fresh)}
    edge = late.locator("td").first.evaluate("c => getComputedStyle(c).boxShadow")
    assert "inset" in edge

    # Excerpts are text: markup in them is shown, never built.
    expect(late.locator(".excerpt")).to_contain_text("<b>overdue</b>")
    expect(page.locator("#flagged-body b")).to_have_count(0)

    # The views: overdue only, open only, then everything again.
    page.select_option("#fc-view", "overdue")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-entry-id", OVERDUE.id)
    expect(page.locator("#flagged-status")).to_have_text(
        "Showing 1 of 1 overdue entries, newest first"
    )
    page.select_option("#fc-view", "open")
    expect(rows).to_have_count(2)
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.status)")) == {"open"}
    page.select_option("#fc-view", "all")
    expect(rows).to_have_count(3)

    # Every field of an entry, but never its signature.
    late.locator("button[data-entry-id]").click()
    dialog = page.locator("#record-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#record-dialog-title")).to_have_text(f"Register entry {OVERDUE.id}")
    fields = page.locator("#record-fields dt").all_inner_texts()
    assert {"fingerprint", "record_id", "remediation_due", "overdue"} <= set(fields)
    assert "signature" not in fields
    page.click("#record-dialog-close")
    expect(dialog).to_be_hidden()

    # The time window applies: nothing was discovered before 2001.
    page.fill("#f-until", "2001-01-01T00:00")
    page.click("#apply-filters")
    expect(page.locator("#flagged-empty")).to_be_visible()
    expect(rows).to_have_count(0)
    expect(page.locator("#fc-overdue")).to_have_text("0")
    expect(page.locator("#fc-overdue")).not_to_have_class(re.compile(r"\btile-alert\b"))

    dash.assert_clean()


def test_wrong_token_shows_401_and_returns_to_sign_in(dash: Dashboard, site: Site) -> None:
    page = dash.page
    dash.sign_in("plaud_0123456789abcdef_" + "A" * 43)
    message = page.locator("#signin-error")
    expect(message).to_be_visible()
    expect(message).to_contain_text("401")
    expect(message).to_contain_text("unknown")
    expect(page.locator("#token-input")).to_be_visible()
    expect(page.locator("#dashboard")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('privlog.audit.token')") is None
    # One rejected request, not one per panel; nothing else logged.
    assert sum(BROWSER_401 in e for e in dash.errors) == 1
    dash.assert_clean(allowed=BROWSER_401)


def _screenshot_path() -> str:
    SCREENSHOT.parent.mkdir(exist_ok=True)
    return str(SCREENSHOT)
