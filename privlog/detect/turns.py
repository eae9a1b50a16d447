"""Turn-taking for the one detector a process shares: requests first, background work between.

The record writer scrubs deferred inputs and re-scans stored text on its own thread, in
batches of hundreds of records. Holding the detector for a whole batch made a request that
scans inline wait for all of it (measured: 2,000-character requests took 81 ms instead of
the scan's 42 ms). Background work now runs in short steps and takes a step only while no
request is waiting or scanning, so a request waits for at most the step under way.

Whether a thread's detection is background work is set by the caller, with
:func:`background`, not passed through every signature in between; so is a deadline, with
:func:`deadline`: a budget of detection time. Detection under one goes in the same short
steps, counts the time each step takes (not the time spent waiting for the detector), and
raises :class:`DetectionTimeout` before a step once the budget is spent.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

__all__ = [
    "DetectionStopped",
    "DetectionTimeout",
    "Turns",
    "background",
    "deadline",
    "in_background",
    "in_steps",
    "timed_step",
]

_LOCAL = threading.local()


class DetectionStopped(Exception):
    """Background detection was told to stop (its writer is shutting down)."""


class DetectionTimeout(Exception):
    """Detection ran past the deadline its caller set (see :func:`deadline`)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"detection took longer than {seconds:g} s")
        self.seconds = seconds


class _Budget:
    __slots__ = ("remaining", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.remaining = seconds


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Detection on this thread, inside the block, gets ``seconds`` of detection time and
    then stops with :class:`DetectionTimeout` (checked between steps of a few thousand
    characters; waiting for the detector behind requests or background work does not
    count). ``None`` sets no deadline; nested deadlines keep the smaller budget."""
    before = getattr(_LOCAL, "deadline", None)
    if seconds is not None and (before is None or seconds < before.remaining):
        _LOCAL.deadline = _Budget(seconds)
    try:
        yield
    finally:
        _LOCAL.deadline = before


@contextlib.contextmanager
def timed_step() -> Iterator[None]:
    """One step of detection under this thread's budget, if it has one: raise
    :class:`DetectionTimeout` if the budget is spent, else count the block's time in it."""
    budget = getattr(_LOCAL, "deadline", None)
    if budget is not None and budget.remaining <= 0:
        raise DetectionTimeout(budget.seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        if budget is not None:
            budget.remaining -= time.monotonic() - start


def in_steps() -> bool:
    """Whether detection on this thread must go in steps (background work, or a deadline)."""
    return in_background() or getattr(_LOCAL, "deadline", None) is not None


@contextlib.contextmanager
def background(stop: Callable[[], bool] | None = None) -> Iterator[None]:
    """Detection on this thread, inside the block, gives way to requests; once ``stop()``
    is true it raises :class:`DetectionStopped` before its next step, so a writer that is
    shutting down does not leave a thread inside the model when the process exits (which
    can abort in the BLAS library at interpreter shutdown)."""
    before = getattr(_LOCAL, "background", None)
    _LOCAL.background = stop or (lambda: False)
    try:
        yield
    finally:
        _LOCAL.background = before


def in_background() -> bool:
    return getattr(_LOCAL, "background", None) is not None


def _stop_requested() -> bool:
    stop = getattr(_LOCAL, "background", None)
    return stop is not None and stop()


class Turns:
    """A lock where foreground holders go before background ones.

    ``foreground()`` counts itself as waiting from before it asks for the lock until after
    it lets go; ``background()`` takes the lock only when that count is zero, and hands it
    straight back if a request started waiting while it was getting it. Neither holds the
    condition while it waits for the lock, so the two cannot deadlock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._quiet = threading.Condition()
        self._foreground = 0

    @contextlib.contextmanager
    def foreground(self) -> Iterator[None]:
        with self._quiet:
            self._foreground += 1
        try:
            with self._lock:
                yield
        finally:
            with self._quiet:
                self._foreground -= 1
                if not self._foreground:
                    self._quiet.notify_all()

    @contextlib.contextmanager
    def background(self) -> Iterator[None]:
        if _stop_requested():
            raise DetectionStopped
        while True:
            with self._quiet:
                self._quiet.wait_for(lambda: not self._foreground)
            self._lock.acquire()
            with self._quiet:
                if not self._foreground:
                    break
            self._lock.release()
        try:
            yield
        finally:
            self._lock.release()
