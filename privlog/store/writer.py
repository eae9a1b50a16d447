"""The write path: a bounded queue and one writer thread, off the request path.

``submit`` never blocks and never raises: a full queue drops the record and counts why.
The writer takes up to ``batch_size`` records or whatever arrived within
``batch_interval``, prepares them (the store-boundary re-scan runs here, not on the request),
and appends them to the chain. Failures are retried with exponential backoff; after
``breaker_threshold`` failures in a row the breaker opens, one warning is logged, and the
writer waits ``breaker_cooldown`` between attempts while records keep queueing up to the
bound. The counters obey ``received = written + dropped + in_flight`` at every snapshot.
Nothing is ever spooled to disk.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from privlog.detect.turns import DetectionStopped, background
from privlog.store.chainstore import ChainStore, summary_payload

__all__ = ["RecordWriter", "WriterSettings"]

log = logging.getLogger("privlog")

Prepare = Callable[[Sequence[Any]], list[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class WriterSettings:
    queue_size: int = 10_000
    batch_size: int = 500
    batch_interval: float = 1.0
    summary_interval: float = 60.0
    purge_interval: float = 0.0  # 0: the writer never purges
    backoff_initial: float = 0.05
    backoff_max: float = 5.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 10.0


class RecordWriter:
    """Owns the queue, the counters and the writer thread (started on first submit)."""

    def __init__(
        self,
        store_factory: Callable[[], ChainStore],
        prepare: Prepare,
        settings: WriterSettings | None = None,
        *,
        tick: Callable[[ChainStore], None] | None = None,
    ) -> None:
        self.settings = settings or WriterSettings()
        # Runs on the writer thread after each batch or idle wait, with the open store
        # (the flagged-content index refreshes itself here); failures are counted.
        self._tick = tick
        self._store_factory = store_factory
        self._prepare = prepare
        # Items are records, or records whose raw fields still await scrubbing (deferred
        # detection); ``prepare`` turns a batch of either into stored columns.
        self._queue: queue.Queue[Any] = queue.Queue(self.settings.queue_size)
        self._stop_detection = threading.Event()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._received = 0
        self._written = 0
        self._in_flight = 0
        self._dropped: Counter[str] = Counter()
        self._failures = 0
        self._batches = 0
        self._summaries = 0
        self._rescan_hits = 0
        self._purged = 0
        self._breaker_open = False
        self._closing = threading.Event()
        self._closed = False
        self._abandoned = False
        self._thread: threading.Thread | None = None
        # Summaries carry running totals; this id tells one writer's totals from another's.
        self._writer_id = secrets.token_hex(8)

    def __repr__(self) -> str:
        return f"RecordWriter(in_flight={self._in_flight}, closed={self._closed})"

    # --- request side --------------------------------------------------------------------

    def submit(self, record: Any) -> bool:
        """Queue ``record``; ``False`` (and a counted drop) if it cannot be queued."""
        with self._lock:
            self._received += 1
            if self._closed or self._closing.is_set():
                self._dropped["closed"] += 1
                return False
            try:
                self._queue.put_nowait(record)
            except queue.Full:
                self._dropped["queue_full"] += 1
                return False
            self._in_flight += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="privlog-writer", daemon=True
                )
                self._thread.start()
        return True

    def stats(self) -> dict[str, Any]:
        """A consistent snapshot of the counters."""
        with self._lock:
            return {
                "received": self._received,
                "written": self._written,
                "dropped": dict(self._dropped),
                "dropped_total": sum(self._dropped.values()),
                "in_flight": self._in_flight,
                "batches": self._batches,
                "write_failures": self._failures,
                "summaries": self._summaries,
                "rescan_hits": self._rescan_hits,
                "breaker_open": self._breaker_open,
                "purged": self._purged,
            }

    def flush(self, timeout: float = 2.0) -> int:
        """Wait until everything queued is written, up to ``timeout`` seconds; return how
        many records are still not written."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._in_flight and (remaining := deadline - time.monotonic()) > 0:
                self._changed.wait(remaining)
            return self._in_flight

    def close(self, timeout: float = 2.0) -> int:
        """Flush for up to ``timeout`` seconds, stop the thread, and count what is left as
        dropped (reason ``shutdown``); return that number."""
        left = self.flush(timeout)
        self._closing.set()
        thread = self._thread
        if thread is not None:
            thread.join(max(0.1, min(timeout, 1.0)))
            if thread.is_alive():
                # Still detecting a batch: stop it at its next step, so that no thread is
                # left inside the model when the process exits.
                self._stop_detection.set()
                thread.join(1.0)
        with self._lock:
            self._closed = True
            leftover = self._drain_locked()
            self._in_flight -= leftover
            self._dropped["shutdown"] += leftover
            left = self._in_flight
            if left:  # a batch still in the writer's hands when it was told to stop
                self._dropped["shutdown"] += left
                self._in_flight = 0
                self._abandoned = True
            self._changed.notify_all()
            return leftover + left

    def _drain_locked(self) -> int:
        n = 0
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return n
            n += 1

    # --- writer thread -------------------------------------------------------------------

    def _collect(self) -> list[Any]:
        s = self.settings
        try:
            first = self._queue.get(timeout=min(s.batch_interval, s.summary_interval))
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + s.batch_interval
        while len(batch) < s.batch_size:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing.is_set():
                break
            try:
                batch.append(self._queue.get(timeout=min(remaining, 0.05)))
            except queue.Empty:
                continue
        return batch

    def _run(self) -> None:
        store: ChainStore | None = None
        last_summary = last_purge = time.monotonic()
        summarised_at: tuple[int, int] = (0, 0)
        try:
            while not self._closing.is_set():
                batch = self._collect()
                if batch:
                    store = self._write(store, batch)
                now = time.monotonic()
                if now - last_summary >= self.settings.summary_interval:
                    last_summary = now
                    snapshot = self.stats()
                    marker = (snapshot["received"], snapshot["dropped_total"])
                    if marker != summarised_at and store is not None:
                        summarised_at = marker
                        store = self._append_summary(store, snapshot)
                interval = self.settings.purge_interval
                if interval > 0 and now - last_purge >= interval:
                    last_purge = now
                    store = self._purge(store)
                if self._tick is not None and store is not None:
                    try:
                        self._tick(store)
                    except Exception as exc:  # counted and logged by type only
                        self._note_failure(exc)
        finally:
            if store is not None:
                store.close()

    def _purge(self, store: ChainStore | None) -> ChainStore | None:
        """Erase what has expired (chained, see :meth:`ChainStore.purge`); a failure is
        counted and retried at the next interval."""
        try:
            if store is None:
                store = self._store_factory()
            erased = store.purge().erased
        except Exception as exc:  # counted and logged by type only; never raised
            self._note_failure(exc)
            return store
        with self._lock:
            self._purged += erased
        return store

    def _append_summary(self, store: ChainStore, snapshot: Mapping[str, Any]) -> ChainStore:
        try:
            store.append([summary_payload({**snapshot, "writer": self._writer_id})])
        except Exception as exc:  # counted and logged by type only; never raised
            self._note_failure(exc)
            return store
        with self._lock:
            self._summaries += 1
        return store

    def _write(self, store: ChainStore | None, batch: list[Any]) -> ChainStore | None:
        s = self.settings
        try:
            # Detection here gives way to requests and stops when the writer closes.
            with background(stop=self._stop_detection.is_set):
                payloads = self._prepare(batch)
        except DetectionStopped:
            self._finish(len(batch), written=0, dropped_reason="shutdown")
            return store
        except Exception as exc:
            # The re-scan failed: storing text unchecked is not an option (fail closed).
            log.error(
                "privlog: re-scan before storing failed (%s); batch dropped", type(exc).__name__
            )
            self._finish(len(batch), written=0, dropped_reason="prepare_failed")
            return store
        hits = sum(int(p.get("rescan_hits") or 0) for p in payloads)
        delay = s.backoff_initial
        failures = 0
        # Usage records written and refused one at a time (see _append_each).
        tally = {"written": 0, "refused": 0}
        one_by_one = False
        while True:
            try:
                if store is None:
                    store = self._store_factory()
                if one_by_one:
                    self._append_each(store, payloads, tally)
                else:
                    store.append(payloads)
            except Exception as exc:
                if not one_by_one and _refused_as_data(exc):
                    one_by_one = True  # at once: waiting would not change the data
                    continue
                failures += 1
                self._note_failure(exc)
                if self._closing.is_set():
                    if one_by_one:  # some of the batch may be written already
                        self._finish(
                            len(batch),
                            written=tally["written"],
                            dropped_reason="shutdown",
                            refused=tally["refused"],
                        )
                    return store
                wait = s.breaker_cooldown if self._breaker_open else delay
                delay = min(delay * 2, s.backoff_max)
                if failures >= s.breaker_threshold:
                    self._open_breaker(exc)
                self._closing.wait(wait)
                continue
            self._close_breaker()
            with self._lock:
                self._rescan_hits += hits
                self._batches += 1
            refused = tally["refused"]
            self._finish(len(batch), written=len(batch) - refused, refused=refused)
            return store

    def _append_each(
        self, store: ChainStore, payloads: list[Mapping[str, Any]], tally: dict[str, int]
    ) -> None:
        """After the database refused a batch for its data (not for being unreachable):
        append its entries one at a time, so that one bad record does not hold up the
        others at every retry. Entries refused again for their data are dropped. Usage
        records written and refused are counted in ``tally`` as they go; another failure
        propagates, and the entries not yet written are retried."""
        while payloads:
            usage = payloads[0].get("kind") == "usage"
            try:
                store.append(payloads[:1])
                tally["written"] += usage
            except Exception as exc:
                if not _refused_as_data(exc):
                    raise
                log.error(
                    "privlog: the database refused a record for its data (%s); dropped",
                    type(getattr(exc, "orig", None) or exc).__name__,
                )
                tally["refused"] += usage
            del payloads[:1]

    def _finish(
        self, n: int, *, written: int, dropped_reason: str | None = None, refused: int = 0
    ) -> None:
        with self._changed:
            if self._abandoned:
                # close() already counted this batch as dropped; it landed after all.
                self._abandoned = False
                self._dropped["shutdown"] -= n
                if not self._dropped["shutdown"]:
                    del self._dropped["shutdown"]
            else:
                self._in_flight -= n
            self._written += written
            if refused:
                self._dropped["refused"] += refused
            if dropped_reason and n - written - refused:
                self._dropped[dropped_reason] += n - written - refused
            self._changed.notify_all()

    def _note_failure(self, exc: BaseException) -> None:
        with self._lock:
            self._failures += 1
        log.debug("privlog: store write failed (%s)", _describe(exc))

    def _open_breaker(self, exc: BaseException) -> None:
        with self._lock:
            if self._breaker_open:
                return
            self._breaker_open = True
        log.warning(
            "privlog: the usage-record store is unavailable (%s); records are kept in memory "
            "up to %d and dropped (counted) beyond that; retrying every %g s",
            _describe(exc),
            self.settings.queue_size,
            self.settings.breaker_cooldown,
        )

    def _close_breaker(self) -> None:
        with self._lock:
            was_open, self._breaker_open = self._breaker_open, False
        if was_open:
            log.warning("privlog: the usage-record store is reachable again; writing resumed")


def _describe(exc: BaseException) -> str:
    """Name the failure without its message: driver messages can quote SQL parameters."""
    inner = getattr(exc, "orig", None)
    if inner is not None:
        return f"{type(exc).__name__}/{type(inner).__name__}"
    if exc.__class__.__module__.startswith("privlog"):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


def _refused_as_data(exc: BaseException | None) -> bool:
    """Whether the database (or its driver) refused the values themselves, which retrying
    the same batch cannot cure, as opposed to being unreachable or out of space."""
    from sqlalchemy.exc import DataError, StatementError

    if isinstance(exc, DataError | UnicodeError):
        return True  # a driver's own encoding error can come through unwrapped
    return isinstance(exc, StatementError) and isinstance(exc.orig, UnicodeError | ValueError)
