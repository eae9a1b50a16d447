"""The detector's memory over many distinct inputs: it must level off, not grow with every
new word it has seen."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.reliability_support import FULL, Report, size

ROOT = Path(__file__).resolve().parents[2]

# In a process of its own, so that its RSS is the detector's. Every prompt brings new
# words (random letters), a new number and a new e-mail address.
_DETECTOR = textwrap.dedent(
    """
    import json, random, string, sys
    from privlog.detect import DetectionSettings
    from privlog.detect import engine

    count = int(sys.argv[1])
    if len(sys.argv) > 2:
        engine._NEW_STRINGS = int(sys.argv[2])
    rng = random.Random(11)
    detector = engine.get_detector(DetectionSettings())
    strings = detector._nlp.vocab.strings
    start = len(strings)

    def word():
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randrange(5, 11)))

    def rss_mb():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096 / 2**20

    samples = []
    warm = count // 10
    for i in range(1, count + 1):
        detector.detect(
            f"Hi, I am {word().title()} {word().title()} from {word().title()}; reach me "
            f"at {word()}.{rng.randrange(10**6)}@{word()}.com about order {word()}-"
            f"{rng.randrange(10**8)}, the {word()} {word()} one."
        )
        if i in (warm, count // 2) or i % (count // 5) == 0:
            samples.append({"inputs": i, "rss_mb": round(rss_mb(), 1), "strings": len(strings)})
    print(json.dumps({"start": start, "cap": engine._NEW_STRINGS, "samples": samples}))
    """
)


@pytest.mark.slow
def test_detector_memory_levels_off(reliability: Report) -> None:
    """The model's string store learns at most ``_NEW_STRINGS`` strings for good; after that
    (here: after the first tenth of the inputs) it holds no more strings at the end than at
    that point, each input's new words being freed when its detection ends, and RSS grows by
    less than 16 MB over the second half of the inputs. Without this the store grew by about
    12 strings per input here, and RSS by 44 MB per 20,000 inputs. (RSS still rises a little,
    in steps, over the first tens of thousands: measured 218 to 248 MB from 10,000 to 100,000
    inputs, level from 80,000 on.) The reduced run lowers the limit to reach it sooner."""
    count = size(5_000, 100_000)
    cap = [] if FULL else ["5000"]
    done = subprocess.run(
        [sys.executable, "-c", _DETECTOR, str(count), *cap],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=3_600,
    )
    result = json.loads(done.stdout)
    samples = result["samples"]
    warm, last = samples[0], samples[-1]
    half = next(s for s in samples if s["inputs"] >= count // 2)
    assert last["inputs"] == count
    assert warm["strings"] - result["start"] <= result["cap"] + 1_000, result
    assert last["strings"] == warm["strings"], result
    growth = last["rss_mb"] - warm["rss_mb"]
    late = last["rss_mb"] - half["rss_mb"]
    assert late < 16, samples
    reliability.area = "faults"
    reliability.scenario = "detector memory over distinct inputs"
    reliability.done = (
        f"{count:,} prompts, each with new words, a new number and a new e-mail address, "
        "through one detector"
    )
    reliability.figure = (
        f"RSS {warm['rss_mb']:.0f} MB after {warm['inputs']:,}, {half['rss_mb']:.0f} MB after "
        f"{half['inputs']:,}, {last['rss_mb']:.0f} MB after {count:,} ({growth:+.1f} MB, "
        f"{late:+.1f} MB over the second half); model strings {warm['strings']:,} then "
        f"{last['strings']:,} (at most {result['cap']:,} learnt for good)"
    )
