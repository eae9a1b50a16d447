"""`make bench`: run every benchmark, write benchmarks/results.json and results.svg."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import chart  # noqa: E402
import egress  # noqa: E402
import memory  # noqa: E402
import middleware  # noqa: E402
import scaling  # noqa: E402
import scan  # noqa: E402
import store  # noqa: E402


def main() -> None:
    results = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or "unknown"},
        "cores": len(os.sched_getaffinity(0)),
        "benchmarks": [
            scan.run(),
            scaling.run(),
            memory.run(),
            store.run(),
            middleware.run(),
            egress.run(),
        ],
    }
    out = HERE / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    chart.main()


if __name__ == "__main__":
    main()
