from __future__ import annotations

import os
import random

import pytest

from privlog.detect import DetectionSettings
from privlog.detect.engine import PresidioDetector, get_detector


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
