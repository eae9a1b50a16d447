"""`make bench`: run every benchmark and write benchmarks/results.json."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import egress  # noqa: E402
import middleware  # noqa: E402
import scan  # noqa: E402
import store  # noqa: E402


def main() -> None:
    results = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or "unknown"},
        "benchmarks": [scan.run(), store.run(), middleware.run(), egress.run()],
    }
    out = HERE / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
