"""An SVG chart of benchmarks/results.json: each ratio against its reference, as bars.

No plotting library: the chart is a few rectangles and labels, readable offline.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# (label, benchmark, key, target or None): what each bar shows and the target.
BARS: tuple[tuple[str, str, str, float | None], ...] = (
    ("scan throughput / Presidio", "scan", "ratio_privlog_over_presidio", 3.0),
    ("scan time / bare spaCy NER", "scan", "ratio_privlog_time_over_spacy_ner", 1.3),
    ("p50 latency / Presidio", "scan", "ratio_p50_privlog_over_presidio", 0.5),
    ("scan --jsonl workers / Presidio", "scan", "ratio_workers_over_presidio", 5.0),
    ("1 MB / (1000 x 1 kB)", "scaling", "ratio_1mb_over_1000x_1kb", 1.2),
    ("peak RSS / 400 MB", "memory", "ratio_peak_rss_over_400mb", 1.0),
)


def render(results: dict[str, Any]) -> str:
    by_name = {b.get("benchmark"): b for b in results.get("benchmarks", [])}
    rows = []
    for label, bench, key, target in BARS:
        value = by_name.get(bench, {}).get(key)
        if isinstance(value, int | float):
            rows.append((label, float(value), target))
    top = max([v for _, v, _ in rows] + [t or 0 for _, _, t in rows] + [1.0])
    scale = 360 / top
    height = 30 * len(rows) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<text x="0" y="14" font-weight="bold">privlog benchmarks: ratios '
        "(bar) and targets (line)</text>",
    ]
    for i, (label, value, target) in enumerate(rows):
        y = 30 + 30 * i
        parts.append(f'<text x="0" y="{y + 14}">{html.escape(label)}</text>')
        parts.append(
            f'<rect x="230" y="{y}" width="{value * scale:.1f}" height="18" fill="#3b6ea5"/>'
        )
        parts.append(f'<text x="{236 + value * scale:.1f}" y="{y + 14}">{value:g}</text>')
        if target is not None:
            x = 230 + target * scale
            parts.append(
                f'<line x1="{x:.1f}" y1="{y - 2}" x2="{x:.1f}" y2="{y + 20}" '
                'stroke="#a11" stroke-width="2"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    results = json.loads((HERE / "results.json").read_text())
    out = HERE / "results.svg"
    out.write_text(render(results))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
