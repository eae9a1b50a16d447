"""Process faults: a writer killed with SIGKILL in the middle of its batches, again and again."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from privlog.store.chainstore import ChainStore
from privlog.store.database import make_engine
from privlog.store.reader import verify_chain
from tests.reliability_support import Report, size

ROOT = Path(__file__).resolve().parents[2]
BATCH = 50

# The writer's store layer as the writer thread drives it: one transaction per batch; the
# seq is printed only once the batch has committed.
_APPENDER = textwrap.dedent(
    f"""
    import sys
    from tests.storetools import payload, store
    cs = store(sys.argv[1], checkpoint_every=200)
    print("ready", flush=True)
    i = 0
    while True:
        seq = cs.append([payload(i + k, "x" * 500) for k in range({BATCH})])
        i += {BATCH}
        # One write per line: print() writes its pieces one by one, and a kill between
        # them leaves "committed " without its number.
        sys.stdout.write(f"committed {{seq}}\\n")
        sys.stdout.flush()
    """
)


@pytest.mark.slow
def test_sigkill_mid_batch_loses_at_most_the_batch_in_flight(
    db_url: str, reliability: Report
) -> None:
    """A writer killed with SIGKILL at random moments, many times over. After each kill: the
    chain verifies, seqs run 1..n without a gap, every batch whose commit was acknowledged
    is there, and the database holds whole batches only (a batch in flight is all or
    nothing). The next writer continues the chain."""
    kills = size(5, 100)
    rng = random.Random(7)
    last = 0
    unacknowledged = 0
    for _ in range(kills):
        with subprocess.Popen(
            [sys.executable, "-c", _APPENDER, db_url], cwd=ROOT, stdout=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.05, 0.3))
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            # Only whole lines: the last one may have been cut by the kill.
            lines = proc.stdout.read().split("\n")[:-1]
        acknowledged = max([last, *(int(x.split()[1]) for x in lines if x.startswith("committed"))])
        store = ChainStore(make_engine(db_url))
        with store.engine.connect() as conn:
            # What this writer added, linked to the record the last check ended at (the
            # whole chain is checked once more at the end).
            report = verify_chain(conn, first=last + 1)
        count = store.count()
        store.engine.dispose()
        assert report.ok, str(report)
        assert report.last_seq == count  # no gap
        assert count >= acknowledged  # nothing acknowledged was lost
        assert count % BATCH == 0  # no part of a batch
        unacknowledged = max(unacknowledged, count - acknowledged)
        assert unacknowledged <= BATCH
        last = count
    store = ChainStore(make_engine(db_url))
    final = store.verify()
    store.engine.dispose()
    assert final.ok, str(final)
    assert final.records == last
    database = "PostgreSQL" if db_url.startswith("postgresql") else "SQLite"
    reliability.area = "faults"
    reliability.scenario = f"SIGKILL in the middle of a batch ({database})"
    reliability.done = (
        f"{kills} kills at random moments of a writer appending batches of {BATCH}; "
        "verify after every restart"
    )
    reliability.figure = (
        f"{last:,} records; chain intact and gapless after {kills}/{kills} restarts; "
        f"acknowledged batches lost: 0; partial batches: 0; committed but not yet "
        f"acknowledged at a kill: at most {unacknowledged} (one batch is {BATCH})"
    )
