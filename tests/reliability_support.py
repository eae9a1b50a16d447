"""Scenario reports for the reliability suite (see tests/reliability and RELIABILITY.md).

Tests marked ``reliability`` run in every ``make test`` at reduced sizes and at full size
with ``make reliability`` (``PRIVLOG_RELIABILITY=full``). A scenario reports what it did and
what it measured through the ``reliability`` fixture (tests/conftest.py); with
``PRIVLOG_RELIABILITY_OUT`` set, each report is appended there as a JSON line with the
test's outcome, and ``python -m tests.reliability.table`` turns the lines into
``RELIABILITY.md``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FULL = os.environ.get("PRIVLOG_RELIABILITY") == "full"


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


# The commit the scenarios ran at (each row carries it: a table may merge several runs).
COMMIT = _commit()
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
