"""`make lint` as a test, so CI keeps the code ruff-clean and mypy-strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_ruff() -> None:
    """ruff finds nothing and the formatting is settled."""
    paths = ["privlog", "adapters", "migrations", "tests", "benchmarks", "examples", "eval"]
    for args in (["check", *paths], ["format", "--check", *paths]):
        done = subprocess.run(
            [str(BIN / "ruff"), *args], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout[-3000:]


def test_mypy_strict() -> None:
    """mypy --strict passes on privlog/ and adapters/."""
    done = subprocess.run(
        [str(BIN / "mypy")], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:]
