from __future__ import annotations

import gc
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from privlog.detect import DetectionSettings
from privlog.detect.engine import PresidioDetector, get_detector
from tests.reliability_support import COMMIT, FULL, OUT, Report


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test reads the developer's PRIVLOG_* settings or writes key files into the checkout."""
    for name in list(os.environ):
        if name.startswith("PRIVLOG_") and name != "PRIVLOG_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    keydir = tmp_path_factory.mktemp("keys")
    monkeypatch.setenv("PRIVLOG_KEY_FILE", str(keydir / "privlog.keys"))


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect after every test, so a leaked connection fails the test that leaked it
    (filterwarnings=error) instead of whichever test the collector happens to run in."""
    yield
    gc.collect()


@pytest.fixture(name="detector", scope="session")
def _detector() -> PresidioDetector:
    """The real detector: Presidio with the installed spaCy model (built once per session)."""
    return get_detector(DetectionSettings())


@pytest.fixture(name="rules_detector", scope="session")
def _rules_detector() -> PresidioDetector:
    """Pattern rules only (no NER): fast, for tests about mechanics rather than models."""
    return get_detector(DetectionSettings(model=None))


@pytest.fixture(name="rng")
def _rng(request: pytest.FixtureRequest) -> random.Random:
    """A generator seeded by the test's name: fresh canaries per test, reproducible runs."""
    return random.Random(request.node.nodeid)


@pytest.fixture(name="pg_url")
def _pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    from tests.storetools import scratch_database

    base = os.environ.get("PRIVLOG_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PRIVLOG_TEST_DATABASE_URL is not set: PostgreSQL tests need a server")
    with scratch_database(base) as url:
        yield url


@pytest.fixture(name="sqlite_url")
def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'privlog.db'}"


@pytest.fixture(name="db_url", params=["sqlite", "postgresql"])
def _db_url(request: pytest.FixtureRequest) -> str:
    """The store URL, once for SQLite and once for PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(name="broken_detection")
def _broken_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every scrub raise, with the input quoted in the message (which must not leak)."""
    from privlog.pipeline import Pipeline

    def broken(self: Pipeline, texts: list[str], scope: object = None) -> None:
        raise RuntimeError(f"detector failed on {texts}")

    monkeypatch.setattr(Pipeline, "scrub_many", broken)


_OUTCOME = pytest.StashKey[str]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that reports a reliability scenario is marked ``reliability``, which is
    what ``make reliability`` selects."""
    for item in items:
        if "reliability" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.reliability)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    result = outcome.get_result()  # type: ignore[attr-defined]
    if result.when == "call" or (result.when == "setup" and result.skipped):
        item.stash[_OUTCOME] = result.outcome


@pytest.fixture(name="reliability")
def _reliability(request: pytest.FixtureRequest) -> Iterator[Report]:
    """A reliability scenario's row (see tests/reliability_support.py); written out, with
    the test's outcome, when the test ends."""
    report = Report(area="", scenario=request.node.name)
    yield report
    outcome = request.node.stash.get(_OUTCOME, "failed")
    if not OUT or not (report.area or outcome == "failed"):
        return
    row = {
        # A scenario that failed before it filled its row still gets one, under its name.
        "area": report.area or "(failed before reporting)",
        "scenario": report.scenario,
        "done": report.done,
        "figure": report.figure,
        "outcome": outcome,
        "size": "full" if FULL else "ci",
        "commit": COMMIT,
        "test": request.node.nodeid,
        **report.extra,
    }
    with open(OUT, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
