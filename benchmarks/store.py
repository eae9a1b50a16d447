"""Usage-record store throughput: records/s through the hash chain, SQLite and PostgreSQL,
from one process and from four sharing one chain.

Each figure is the median of several rounds; the reference is a bare SQLAlchemy executemany
of the same rows with no chain (what the chain's locking and hashing cost on top of a plain
insert). PostgreSQL runs in a scratch database created on the server named by
PRIVLOG_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) and
dropped afterwards; it is skipped, with the reason, when the server cannot be reached.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sqlalchemy import insert  # noqa: E402

from privlog.store.chain import PAYLOAD_COLUMNS, Signer  # noqa: E402
from privlog.store.chainstore import ChainStore  # noqa: E402
from privlog.store.database import make_engine  # noqa: E402
from privlog.store.schema import records  # noqa: E402
from tests.storetools import payload, scratch_database  # noqa: E402

BATCH = 500


def _store(url: str) -> ChainStore:
    cs = ChainStore(make_engine(url), Signer("k1", secrets.token_bytes(32)), auto_migrate=True)
    cs.ensure_ready()
    return cs


def _append_rounds(url: str, batches: int) -> float:
    cs = _store(url)
    rows = [
        payload(i, "scrubbed prompt with <PERSON_1> and <PHONE_NUMBER_1>") for i in range(BATCH)
    ]
    start = time.perf_counter()
    for _ in range(batches):
        cs.append(rows)
    elapsed = time.perf_counter() - start
    cs.engine.dispose()
    return elapsed


def _worker(url: str, batches: int, barrier: Any, out: Any) -> None:
    cs = _store(url)
    rows = [payload(i, "scrubbed prompt with <PERSON_1>") for i in range(BATCH)]
    barrier.wait()
    for _ in range(batches):
        cs.append(rows)
    cs.engine.dispose()
    out.put(time.perf_counter())


def _four_processes(url: str, batches: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(5), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, batches, barrier, out)) for _ in range(4)]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    ends = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    return max(ends) - start


def _bare_insert(url: str, batches: int) -> float:
    """Reference: the same rows through a plain executemany, no chain, no head lock."""
    cs = _store(url)
    engine = cs.engine
    base = [
        payload(i, "scrubbed prompt with <PERSON_1> and <PHONE_NUMBER_1>") for i in range(BATCH)
    ]
    filler = {
        "payload_salt": "0" * 32,
        "payload_hash": "0" * 64,
        "prev_hash": "0" * 64,
        "entry_hash": "0" * 64,
    }
    seq = 10**9 * (1 + secrets.randbelow(10**6))  # far from the chain, unique per round
    start = time.perf_counter()
    for _ in range(batches):
        rows = []
        for p in base:
            seq += 1
            rows.append({**{c: p.get(c) for c in PAYLOAD_COLUMNS}, **filler, "seq": seq})
        with engine.begin() as conn:
            conn.execute(insert(records), rows)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


@contextmanager
def _sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench.db"


@contextmanager
def _postgres() -> Iterator[str]:
    base = os.environ.get(
        "PRIVLOG_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    with scratch_database(base, prefix="privlog_bench") as url:
        yield url


def _median_rate(
    fn: Callable[[str, int], float], url: str, batches: int, per: int, rounds: int
) -> float:
    return round(statistics.median(per * batches / fn(url, batches) for _ in range(rounds)))


def run(batches: int = 20, rounds: int = 3) -> dict[str, Any]:
    result: dict[str, Any] = {"benchmark": "store", "batch_size": BATCH, "rounds": rounds}
    for name, db in (("sqlite", _sqlite), ("postgresql", _postgres)):
        try:
            with db() as url:
                result[name] = {
                    "chain_1_process_records_per_s": _median_rate(
                        _append_rounds, url, batches, BATCH, rounds
                    ),
                    "bare_insert_records_per_s": _median_rate(
                        _bare_insert, url, batches, BATCH, rounds
                    ),
                    "chain_4_processes_records_per_s": _median_rate(
                        _four_processes, url, batches // 2, 4 * BATCH, rounds
                    ),
                }
        except Exception as exc:  # a missing server is reported, not fatal
            result[name] = {"skipped": f"{type(exc).__name__}: cannot use {name}"}
    for name in ("sqlite", "postgresql"):
        figures = result[name]
        print(f"store/{name}:")
        for key, value in figures.items():
            print(f"  {key:34} {value:>10,}" if isinstance(value, int) else f"  {key}: {value}")
    return result


if __name__ == "__main__":
    run()
