"""Process-level faults: SIGTERM with records queued. (SIGKILL in the middle of a batch,
many times over, is in tests/reliability/test_faults.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from privlog.store.chainstore import ChainStore
from privlog.store.database import make_engine
from tests.reliability_support import Report

ROOT = Path(__file__).resolve().parent.parent

_QUEUER = textwrap.dedent(
    """
    import sys, time
    from privlog import Privlog
    pl = Privlog.from_env()
    for i in range(int(sys.argv[1])):
        pl.log_input({"prompt": f"request {i}"}, route="/v1/chat", subject=f"user-{i % 7}")
    print("queued", pl.stats()["in_flight"], flush=True)
    time.sleep(60)
    """
)


def test_sigterm_flushes_the_queue(sqlite_url: str, tmp_path: Path, reliability: Report) -> None:
    """SIGTERM with records still queued: they are written before the process dies of the
    signal, well within the flush timeout."""
    policy = tmp_path / "policy.toml"
    policy.write_text('[detection]\nmodel = "none"\n[store]\nbatch_interval = 30.0\n')
    env = {
        **os.environ,
        "PRIVLOG_DATABASE_URL": sqlite_url,
        "PRIVLOG_CONFIG": str(policy),
        "PRIVLOG_KEY_FILE": str(tmp_path / "k.keys"),
    }
    with subprocess.Popen(
        [sys.executable, "-c", _QUEUER, "300"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[0] == "queued"
        assert int(line[1]) > 0  # records really were waiting in the queue
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == -signal.SIGTERM
        took = time.monotonic() - start
        assert took < 5
    store = ChainStore(make_engine(sqlite_url))
    report = store.verify()
    assert report.ok, str(report)
    assert store.count() == 300
    store.engine.dispose()
    reliability.area = "faults"
    reliability.scenario = "SIGTERM with a full queue (SQLite)"
    reliability.done = "300 records queued (batch interval 30 s), then SIGTERM"
    reliability.figure = f"300/300 written, process ended in {took:.2f} s (flush timeout 2 s)"
