"""The detector as the shared scorer's callable, with privlog's overlap resolution applied.

    python ../shared/eval/score.py --data ../shared/eval/dev.jsonl \\
        --callable benchmarks/eval_callable.py:find_spans

Set PRIVLOG_CONFIG to score another policy (entity set, threshold).
"""

from __future__ import annotations

from privlog.config import Settings
from privlog.detect.engine import get_detector
from privlog.transform import resolve_overlaps

_detector = get_detector(Settings.from_env().policy.detection)


def find_spans(text: str, lang: str) -> list[dict[str, object]]:
    return [
        {"start": f.start, "end": f.end, "label": f.entity_type, "score": f.score}
        for f in resolve_overlaps(_detector.detect(text))
    ]
