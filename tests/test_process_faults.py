"""Process-level faults: SIGKILL in the middle of a batch, SIGTERM with records queued."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from privlog.store.chainstore import ChainStore
from privlog.store.database import make_engine

ROOT = Path(__file__).resolve().parent.parent

_APPENDER = textwrap.dedent(
    """
    import sys
    from tests.storetools import payload, store
    cs = store(sys.argv[1], checkpoint_every=200)
    print("ready", flush=True)
    i = 0
    while True:
        cs.append([payload(i + k, "x" * 500) for k in range(50)])
        i += 50
    """
)


def test_sigkill_mid_batch_never_leaves_a_gap(db_url: str) -> None:
    """A writer killed with SIGKILL at random points, five times over: after each restart
    the chain verifies, has no gap, and a new writer continues it."""
    rng = random.Random(7)
    last = 0
    for _ in range(5):
        with subprocess.Popen(
            [sys.executable, "-c", _APPENDER, db_url], cwd=ROOT, stdout=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.2, 0.8))
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        store = ChainStore(make_engine(db_url))
        report = store.verify()
        store.engine.dispose()
        assert report.ok, str(report)
        assert report.last_seq == report.records
        assert report.records > last
        last = report.records


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


def test_sigterm_flushes_the_queue(sqlite_url: str, tmp_path: Path) -> None:
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
        assert time.monotonic() - start < 5
    store = ChainStore(make_engine(sqlite_url))
    report = store.verify()
    assert report.ok, str(report)
    assert store.count() == 300
    store.engine.dispose()
