"""The reliability suite: scenarios that try to make privlog leak, lose or lie.

Every scenario runs in the normal test run at a reduced size, and at full size with
``make reliability`` (``PRIVLOG_RELIABILITY=full``). A scenario reports what it did and
what it measured through the ``reliability`` fixture; with ``PRIVLOG_RELIABILITY_OUT`` set,
each report is appended there as a JSON line with the test's outcome, and
``python -m tests.reliability.table`` turns the lines into ``RELIABILITY.md``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

FULL = os.environ.get("PRIVLOG_RELIABILITY") == "full"
# Read here: the tests run with every PRIVLOG_* variable removed (see tests/conftest.py).
OUT = os.environ.get("PRIVLOG_RELIABILITY_OUT")


def size(ci: int, full: int) -> int:
    """``full`` under ``make reliability``, ``ci`` in the normal test run."""
    return full if FULL else ci


@dataclass
class Report:
    """What one scenario did and measured (one row of the table)."""

    area: str
    scenario: str
    done: str = ""
    figure: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    result = outcome.get_result()  # type: ignore[attr-defined]
    if result.when == "call" or (result.when == "setup" and result.skipped):
        item.stash[_OUTCOME] = result.outcome


_OUTCOME = pytest.StashKey[str]()


@pytest.fixture(name="reliability")
def _reliability(request: pytest.FixtureRequest) -> Iterator[Report]:
    """The scenario's row; written out (with pass/fail) when the test ends."""
    report = Report(area="", scenario=request.node.name)
    yield report
    if not OUT or not report.area:
        return
    row = {
        "area": report.area,
        "scenario": report.scenario,
        "done": report.done,
        "figure": report.figure,
        "outcome": request.node.stash.get(_OUTCOME, "failed"),
        "size": "full" if FULL else "ci",
        "test": request.node.nodeid,
        **report.extra,
    }
    with open(OUT, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
