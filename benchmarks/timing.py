"""Shared timing helpers for the benchmarks."""

from __future__ import annotations

import statistics
from typing import Any


def percentile_ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def summarise(result: dict[str, Any], times: dict[str, list[float]], base: str, other: str) -> None:
    """Add p50/p99/mean per series, and ``other`` minus ``base`` at p50 and p99, in ms."""
    for name, samples in times.items():
        result[f"{name}_p50_ms"] = round(percentile_ms(samples, 0.50), 3)
        result[f"{name}_p99_ms"] = round(percentile_ms(samples, 0.99), 3)
        result[f"{name}_mean_ms"] = round(statistics.mean(samples) * 1000, 3)
    for q in ("p50", "p99"):
        result[f"added_{q}_ms"] = round(result[f"{other}_{q}_ms"] - result[f"{base}_{q}_ms"], 3)
