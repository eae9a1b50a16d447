"""Requests go before the writer's background detection (privlog.detect.turns)."""

from __future__ import annotations

import random
import threading
import time

from privlog.detect.engine import PresidioDetector
from privlog.detect.turns import Turns, background, in_background
from tests.canaries import cn_mobile, email

_WAIT = 10.0


def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + _WAIT
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.001)


def test_a_request_goes_before_the_next_background_step() -> None:
    turns = Turns()
    log: list[str] = []
    in_step, go_on = threading.Event(), threading.Event()

    def writer() -> None:
        for i in range(3):
            with turns.background():
                log.append(f"background {i}")
                if i == 0:
                    in_step.set()
                    assert go_on.wait(_WAIT)

    def request() -> None:
        with turns.foreground():
            log.append("request")

    background_thread = threading.Thread(target=writer)
    background_thread.start()
    assert in_step.wait(_WAIT)
    request_thread = threading.Thread(target=request)
    request_thread.start()
    _until(lambda: turns._foreground == 1, "the request to queue")
    go_on.set()
    background_thread.join(_WAIT)
    request_thread.join(_WAIT)
    assert log == ["background 0", "request", "background 1", "background 2"]


def test_requests_keep_the_lock_to_themselves_while_any_waits() -> None:
    """Two requests back to back: the background step waits for both."""
    turns = Turns()
    log: list[str] = []
    first_in, release_first = threading.Event(), threading.Event()

    def first() -> None:
        with turns.foreground():
            log.append("request 1")
            first_in.set()
            assert release_first.wait(_WAIT)

    def second() -> None:
        with turns.foreground():
            log.append("request 2")

    def writer() -> None:
        with turns.background():
            log.append("background")

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert first_in.wait(_WAIT)
    threads.append(threading.Thread(target=writer))
    threads[1].start()
    threads.append(threading.Thread(target=second))
    threads[2].start()
    _until(lambda: turns._foreground == 2, "the second request to queue")
    release_first.set()
    for thread in threads:
        thread.join(_WAIT)
    assert log == ["request 1", "request 2", "background"]


def test_background_marks_only_its_own_thread() -> None:
    seen: list[bool] = []
    with background():
        assert in_background()
        other = threading.Thread(target=lambda: seen.append(in_background()))
        other.start()
        other.join(_WAIT)
    assert seen == [False]
    assert not in_background()


def test_background_detection_in_steps_finds_the_same(
    detector: PresidioDetector, rng: random.Random
) -> None:
    """Steps of a few windows find what one pass finds, for short texts and for one longer
    than several windows."""
    texts = [
        f"Maria Garcia ({email(rng)}) called from {cn_mobile(rng)}.",
        "我叫张伟，手机号" + cn_mobile(rng) + "。",
        " ".join(f"Contact Oliver Brown at {email(rng)} or {cn_mobile(rng)}." for _ in range(600)),
    ]
    assert len(texts[2]) > 3 * detector.settings.chunk_chars
    at_once = detector.detect_batch(texts)
    with background():
        in_steps = detector.detect_batch(texts)
    assert in_steps == at_once
    assert all(at_once)
