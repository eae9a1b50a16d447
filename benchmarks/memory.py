"""Peak memory of one privlog process: with the model loaded, against text size, and against
the length of the record queue while the database accepts nothing.

Each measurement runs in a fresh process that imports privlog only (no plain Presidio, no
other benchmark), so its RSS is what an application process pays.

* Model: RSS after ``Privlog.from_env()`` and one scan.
* Text size: peak RSS after scanning one text each of 1 kB to 1 MB.
* Queue: the SQLite database is held by an exclusive lock (an outage), and requests keep
  arriving in deferred mode (raw text waits for the writer). RSS is sampled as the queue
  grows to twice ``queue_size``; it must level off once the queue is full, because records
  beyond it are dropped and counted, and the raw text waiting is capped by
  ``max_pending_chars``.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

HERE = Path(__file__).resolve().parent
SIZES = (1_000, 10_000, 100_000, 1_000_000)
PROMPT_CHARS = 2_000


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(work: Path) -> dict[str, Any]:
    from corpus import prompts

    from privlog.core import Privlog

    db = work / "records.db"
    os.environ["PRIVLOG_DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["PRIVLOG_KEY_FILE"] = str(work / "keys.json")
    base = _rss_mb()
    privlog = Privlog.from_env()
    text = " ".join(prompts(200))
    privlog.scan(text[:1_000])
    model = _rss_mb()
    for size in SIZES:
        privlog.scan((text * (size // len(text) + 1))[:size])
    after_sizes = _peak_mb()

    privlog.log_input({"prompt": "warm up"}, route="/chat")
    privlog.flush(10)
    queue_size = privlog.settings.policy.store.queue_size
    lock = sqlite3.connect(db, timeout=0, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # the outage: the writer can write nothing
    prompt = (text * 2)[:PROMPT_CHARS]
    samples: dict[int, float] = {}
    sent = 0
    for target in [queue_size * k // 4 for k in range(1, 9)]:
        while sent < target:
            # A fresh string per request, as a server would hold (not one shared object).
            privlog.log_input({"prompt": prompt + str(sent)}, route="/chat", defer=True)
            sent += 1
        samples[sent] = round(_rss_mb())
    stats = privlog.stats()
    lock.execute("ROLLBACK")
    lock.close()
    return {
        "rss_mb_before_import": round(base),
        "rss_mb_model_loaded": round(model),
        "peak_rss_mb_after_1kb_to_1mb": round(after_sizes),
        "queue_size": queue_size,
        "max_pending_chars": privlog.settings.policy.store.max_pending_chars,
        "prompt_chars": PROMPT_CHARS,
        "rss_mb_by_requests_queued": samples,
        "dropped_while_stalled": stats["dropped_total"],
        "peak_rss_mb": round(_peak_mb()),
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), tmp],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        )
    measured: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    by_queue = measured["rss_mb_by_requests_queued"]
    full = [v for k, v in by_queue.items() if int(k) >= measured["queue_size"]]
    result = {
        "benchmark": "memory",
        **measured,
        "rss_growth_mb_past_full_queue": max(full) - min(full),
        "ratio_peak_rss_over_400mb": round(measured["peak_rss_mb"] / 400, 2),
    }
    print(
        f"memory (one privlog process): model loaded {result['rss_mb_model_loaded']} MB, "
        f"peak after 1 kB-1 MB texts {result['peak_rss_mb_after_1kb_to_1mb']} MB\n"
        f"  database stalled, {PROMPT_CHARS}-char prompts deferred: RSS by requests sent "
        + ", ".join(f"{int(k):,}: {v} MB" for k, v in by_queue.items())
        + f"\n  queue full at {result['queue_size']:,}; {result['dropped_while_stalled']:,} "
        f"dropped and counted; growth past a full queue {result['rss_growth_mb_past_full_queue']}"
        f" MB; peak {result['peak_rss_mb']} MB"
    )
    return result


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.path.insert(0, str(HERE))
        print(json.dumps(_measure(Path(sys.argv[1]))), flush=True)
        # Scrubbing the 20 million queued characters would take minutes; the measurement
        # is done, so the process ends without waiting for its writer.
        os._exit(0)
    else:
        run()
