"""Scan time against text size (peak memory is in ``memory.py``, in a process of its own).

One text each of about 1 kB, 10 kB, 100 kB and 1 MB, built from the generated corpus, is
scanned with ``Privlog.scan`` (the model loaded and warmed first); each size's median of
several rounds is reported with its throughput. Linear scaling means the 1 MB text takes
about 1,000 times the 1 kB one: ``ratio_1mb_over_1000x_1kb`` is that quotient (1.0 is
linear).
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from corpus import prompts

SIZES = (1_000, 10_000, 100_000, 1_000_000)


def _text(size: int) -> str:
    parts: list[str] = []
    total = 0
    for prompt in prompts(20_000):
        parts.append(prompt)
        total += len(prompt) + 1
        if total >= size:
            break
    return " ".join(parts)[:size]


def run(rounds: int = 3) -> dict[str, Any]:
    from privlog.core import Privlog

    privlog = Privlog.from_env()
    privlog.scan(_text(1_000))
    per_size: dict[int, float] = {}
    for size in SIZES:
        text = _text(size)
        samples = []
        for _ in range(rounds if size < 1_000_000 else 1):
            start = time.perf_counter()
            privlog.scan(text)
            samples.append(time.perf_counter() - start)
        per_size[size] = statistics.median(samples)
    result = {
        "benchmark": "scaling",
        "seconds_by_chars": {str(k): round(v, 4) for k, v in per_size.items()},
        "chars_per_s_by_chars": {str(k): round(k / v) for k, v in per_size.items()},
        "ratio_1mb_over_1000x_1kb": round(per_size[1_000_000] / (1000 * per_size[1_000]), 2),
    }
    print("scaling: scan time by text size (medians)")
    for size, seconds in per_size.items():
        print(f"  {size:>9,} chars  {seconds * 1000:>9.1f} ms  {size / seconds:>9,.0f} chars/s")
    print(f"  1 MB takes {result['ratio_1mb_over_1000x_1kb']} x (1000 x 1 kB)")
    return result


if __name__ == "__main__":
    run()
