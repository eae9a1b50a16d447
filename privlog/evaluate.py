"""``privlog eval``: score privlog's detection against a labelled JSON-lines file.

Each line is ``{"text": ..., "spans": [{"start", "end", "label"}, ...]}`` with optional
``lang``, ``category``, ``form``, ``source`` and ``id``; offsets are Python ``str`` (code
point) offsets, end exclusive. privlog's predictions are what scrubbing replaces: the
policy's detector (``PRIVLOG_CONFIG``) with overlaps merged as :func:`resolve_overlaps` does.

Metrics:

* **leak recall**: a gold span is *caught* when the characters privlog replaces (the union
  of all its spans, of any type) cover at least half of it. Per gold label and overall.
* **typed precision / recall / F1**: a predicted span, its type mapped to the gold scheme
  by :data:`LABEL_MAP`, matches a gold span of the same label when it covers at least half
  of it; one to one, greedily by overlap. Unmatched predictions are false positives of
  their label.
* **changed share**: the share of span-free records in which anything was replaced.
* **throughput**: characters per second of the detection calls alone, after a warm-up.

Nothing here prints or returns record text or span text: only counts and ratios.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from privlog.detect.findings import Finding
from privlog.errors import PrivlogError
from privlog.text import replace_surrogates
from privlog.transform import resolve_overlaps

__all__ = [
    "GOLD_LABELS",
    "GROUP_FIELDS",
    "LABEL_MAP",
    "BadRecord",
    "Counts",
    "Detect",
    "Options",
    "Record",
    "Report",
    "Span",
    "SystemResult",
    "caught",
    "format_table",
    "gold_label",
    "load_records",
    "parse_record",
    "presidio_detect",
    "run",
    "score_system",
    "timed_detection",
    "to_json",
    "typed_counts",
]

GOLD_LABELS = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "LOCATION",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "ID",
    "URL",
    "ORGANIZATION",
    "DATE_TIME",
    "SECRET",
)

# privlog's (and Presidio's) entity types → the gold label scheme. Types not listed keep
# their own name (CRYPTO, MAC_ADDRESS, NRP, UUID): they count as false positives of that
# name in the typed scores, and still catch gold spans in leak recall.
LABEL_MAP: Mapping[str, str] = MappingProxyType(
    {
        # people
        "PERSON": "PERSON",
        "CN_NAME": "PERSON",
        # contact
        "EMAIL_ADDRESS": "EMAIL_ADDRESS",
        "PHONE_NUMBER": "PHONE_NUMBER",
        "CN_MOBILE": "PHONE_NUMBER",
        "CN_LANDLINE": "PHONE_NUMBER",
        # places
        "LOCATION": "LOCATION",
        "CN_ADDRESS": "LOCATION",
        "STREET_ADDRESS": "LOCATION",
        "GPE": "LOCATION",
        # cards and accounts
        "CREDIT_CARD": "CREDIT_CARD",
        "CN_BANK_CARD": "CREDIT_CARD",
        "IBAN_CODE": "IBAN_CODE",
        # identity numbers and handles
        "ID": "ID",
        "CN_RESIDENT_ID": "ID",
        "CN_USCC": "ID",
        "CN_PASSPORT": "ID",
        "CN_PERMIT": "ID",
        "CN_TRAVEL_PERMIT": "ID",
        "CN_QQ": "ID",
        "CN_WECHAT": "ID",
        "CN_LICENSE_PLATE": "ID",
        "SOCIAL_HANDLE": "PERSON",
        "ID_NUMBER": "ID",
        "US_SSN": "ID",
        "US_ITIN": "ID",
        "US_PASSPORT": "ID",
        "US_DRIVER_LICENSE": "ID",
        "US_BANK_NUMBER": "ID",
        "UK_NHS": "ID",
        "MEDICAL_LICENSE": "ID",
        # network
        "IP_ADDRESS": "IP_ADDRESS",
        "URL": "URL",
        # the rest
        "ORGANIZATION": "ORGANIZATION",
        "DATE_TIME": "DATE_TIME",
        "SECRET": "SECRET",
    }
)

GROUP_FIELDS = ("lang", "category", "form", "source")
NO_VALUE = "(none)"
BATCH_TEXTS = 64
# Synthetic values only: the warm-up must not depend on the file.
_WARM_UP = "Warm-up: Jane Doe, jane.doe@example.com, +1 202 555 0143, 北京市海淀区中关村大街1号"

Detect = Callable[[Sequence[str]], list[list[Finding]]]


def gold_label(entity_type: str) -> str:
    """The gold label a detector's entity type counts as (unknown types keep their name)."""
    return LABEL_MAP.get(entity_type, entity_type)


# --- input -----------------------------------------------------------------------------


class BadRecord(PrivlogError):
    """A line of the eval file is not a valid record; names the line, never its text."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        self.line = line
        super().__init__(f"{path}, line {line}: {problem}")


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    label: str

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Record:
    text: str
    spans: tuple[Span, ...]
    fields: Mapping[str, str] = field(default_factory=dict)


def _lines(path: str) -> Iterator[tuple[int, str]]:
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise PrivlogError(f"cannot open {path}: {exc.strerror}") from None
    with stream:
        for number, raw in enumerate(stream, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRecord(path, number, "not valid UTF-8") from None


def _parse_span(path: str, line: int, index: int, raw: object, length: int) -> Span:
    what = f"span {index}"
    if not isinstance(raw, dict):
        raise BadRecord(path, line, f'{what} is not an object {{"start", "end", "label"}}')
    start, end, label = raw.get("start"), raw.get("end"), raw.get("label")
    if (
        not isinstance(start, int)
        or not isinstance(end, int)
        or isinstance(start, bool)
        or isinstance(end, bool)
        or not isinstance(label, str)
    ):
        raise BadRecord(path, line, f"{what} needs integer start and end and a string label")
    if start > end:
        raise BadRecord(path, line, f"{what} starts after it ends ({start} > {end})")
    if start < 0 or end > length:
        raise BadRecord(
            path, line, f"{what} ({start}-{end}) lies outside the text ({length} characters)"
        )
    return Span(start, end, label)


def parse_record(path: str, line: int, raw: str) -> Record:
    """One line → a :class:`Record`. Empty spans (start == end) are dropped."""
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRecord(path, line, "not valid JSON") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise BadRecord(path, line, 'expected an object with a string "text"')
    raw_spans = obj.get("spans")
    if not isinstance(raw_spans, list):
        raise BadRecord(path, line, 'expected "spans": a list of {"start", "end", "label"}')
    # One character for one, as scrubbing does, so the offsets still hold.
    text = replace_surrogates(obj["text"])
    spans = [_parse_span(path, line, i, s, len(text)) for i, s in enumerate(raw_spans, 1)]
    fields = {k: v for k in GROUP_FIELDS if isinstance(v := obj.get(k), str)}
    return Record(text, tuple(s for s in spans if s.length > 0), fields)


def load_records(path: str, *, lang: str | None = None, limit: int | None = None) -> list[Record]:
    """The records of ``path`` (blank lines skipped), filtered by ``lang``, at most ``limit``."""
    records: list[Record] = []
    if limit is not None and limit <= 0:
        return records
    for number, raw in _lines(path):
        if not raw.strip():
            continue
        record = parse_record(path, number, raw)
        if lang is not None and record.fields.get("lang") != lang:
            continue
        records.append(record)
        if limit is not None and len(records) >= limit:
            break
    return records


# --- counting --------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(slots=True)
class Counts:
    """Typed matches of one label (or all labels)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)


@dataclass(slots=True)
class Leak:
    """Gold spans and how many of them privlog would replace."""

    gold: int = 0
    caught: int = 0

    def add(self, other: Leak) -> None:
        self.gold += other.gold
        self.caught += other.caught

    @property
    def recall(self) -> float | None:
        return _ratio(self.caught, self.gold)


@dataclass(slots=True)
class Changed:
    """Span-free records and how many of them were changed anyway."""

    span_free: int = 0
    changed: int = 0

    @property
    def share(self) -> float | None:
        return _ratio(self.changed, self.span_free)


# Gold labels that are not direct identifiers: "core" leak recall leaves them out (the
# shared scorer's "core" view does the same).
NOT_CORE = frozenset({"ORGANIZATION", "DATE_TIME", "OTHER"})


def core_leak(leaks: Mapping[str, Leak]) -> Leak:
    total = Leak()
    for label, entry in leaks.items():
        if label not in NOT_CORE:
            total.add(entry)
    return total


@dataclass(slots=True)
class Group:
    records: int = 0
    leak: Leak = field(default_factory=Leak)
    core: Leak = field(default_factory=Leak)
    changed: Changed = field(default_factory=Changed)


def caught(gold: Sequence[Span], predicted: Sequence[Span], length: int) -> list[bool]:
    """For each gold span: are at least half of its characters under some prediction?"""
    mask = bytearray(length)
    for p in predicted:
        mask[p.start : p.end] = b"\x01" * p.length
    return [2 * mask.count(1, g.start, g.end) >= g.length for g in gold]


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def typed_counts(gold: Sequence[Span], predicted: Sequence[Span]) -> dict[str, Counts]:
    """Per label: one-to-one greedy matching (largest overlap first) of predictions to gold
    spans of the same label that they cover at least half of."""
    pairs = [
        (ov, gi, pi)
        for gi, g in enumerate(gold)
        for pi, p in enumerate(predicted)
        if p.label == g.label and 2 * (ov := _overlap(g, p)) >= g.length and ov > 0
    ]
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    matched_gold: set[int] = set()
    matched_pred: set[int] = set()
    for _, gi, pi in pairs:
        if gi not in matched_gold and pi not in matched_pred:
            matched_gold.add(gi)
            matched_pred.add(pi)
    counts: dict[str, Counts] = {}
    for gi, g in enumerate(gold):
        c = counts.setdefault(g.label, Counts())
        if gi in matched_gold:
            c.tp += 1
        else:
            c.fn += 1
    for pi, p in enumerate(predicted):
        if pi not in matched_pred:
            counts.setdefault(p.label, Counts()).fp += 1
    return counts


@dataclass(slots=True)
class Tally:
    """Running totals for one system over the records seen so far."""

    group_by: tuple[str, ...] = ()
    leak: dict[str, Leak] = field(default_factory=dict)
    typed: dict[str, Counts] = field(default_factory=dict)
    changed: Changed = field(default_factory=Changed)
    groups: dict[str, dict[str, Group]] = field(default_factory=dict)

    def add(self, record: Record, predicted: Sequence[Span]) -> None:
        flags = caught(record.spans, predicted, len(record.text))
        leak: dict[str, Leak] = {}
        for span, hit in zip(record.spans, flags, strict=True):
            entry = leak.setdefault(span.label, Leak())
            entry.gold += 1
            entry.caught += hit
        for label, entry in leak.items():
            self.leak.setdefault(label, Leak()).add(entry)
        for label, counts in typed_counts(record.spans, predicted).items():
            self.typed.setdefault(label, Counts()).add(counts)
        span_free = not record.spans
        changed = span_free and bool(predicted)
        self.changed.span_free += span_free
        self.changed.changed += changed
        for name in self.group_by:
            group = self.groups.setdefault(name, {}).setdefault(
                record.fields.get(name, NO_VALUE), Group()
            )
            group.records += 1
            group.leak.add(Leak(len(flags), sum(flags)))
            group.core.add(core_leak(leak))
            group.changed.span_free += span_free
            group.changed.changed += changed


# --- running a system ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SystemResult:
    name: str
    detector: str
    leak: Mapping[str, Leak]
    typed: Mapping[str, Counts]
    changed: Changed
    groups: Mapping[str, Mapping[str, Group]]
    chars: int
    seconds: float

    @property
    def leak_total(self) -> Leak:
        total = Leak()
        for entry in self.leak.values():
            total.add(entry)
        return total

    @property
    def leak_core(self) -> Leak:
        return core_leak(self.leak)

    @property
    def typed_total(self) -> Counts:
        total = Counts()
        for entry in self.typed.values():
            total.add(entry)
        return total

    @property
    def chars_per_s(self) -> float | None:
        return self.chars / self.seconds if self.seconds > 0 else None


def _as_spans(findings: Sequence[Finding], length: int) -> list[Span]:
    spans = (
        Span(max(0, f.start), min(length, f.end), gold_label(f.entity_type))
        for f in resolve_overlaps(findings)
    )
    return [s for s in spans if s.length > 0]


def timed_detection(detect: Detect, texts: Sequence[str]) -> tuple[list[list[Finding]], float]:
    """Run ``detect`` over ``texts`` in batches after one warm-up call; the seconds spent in
    the detection calls alone."""
    detect([_WARM_UP])
    found: list[list[Finding]] = []
    seconds = 0.0
    for i in range(0, len(texts), BATCH_TEXTS):
        batch = texts[i : i + BATCH_TEXTS]
        start = time.perf_counter()
        result = detect(batch)
        seconds += time.perf_counter() - start
        found.extend(result)
    return found, seconds


def score_system(
    name: str,
    detector: str,
    detect: Detect,
    records: Sequence[Record],
    group_by: Sequence[str] = (),
) -> SystemResult:
    """Detect in every record with ``detect`` and score the result against the gold spans."""
    texts = [r.text for r in records]
    found, seconds = timed_detection(detect, texts)
    tally = Tally(group_by=tuple(group_by))
    for record, findings in zip(records, found, strict=True):
        tally.add(record, _as_spans(findings, len(record.text)))
    return SystemResult(
        name=name,
        detector=detector,
        leak=dict(sorted(tally.leak.items())),
        typed=dict(sorted(tally.typed.items())),
        changed=tally.changed,
        groups={k: dict(sorted(v.items())) for k, v in tally.groups.items()},
        chars=sum(map(len, texts)),
        seconds=seconds,
    )


def presidio_detect(engine: Any) -> Detect:
    """A plain Presidio ``AnalyzerEngine`` as a :data:`Detect`: one ``analyze`` call per
    text, language "en", default score threshold."""

    def detect(texts: Sequence[str]) -> list[list[Finding]]:
        return [
            [
                Finding(r.entity_type, r.start, r.end, float(r.score), "presidio", "presidio")
                for r in engine.analyze(text=text, language="en")
            ]
            for text in texts
        ]

    return detect


@dataclass(frozen=True, slots=True)
class Options:
    path: str
    lang: str | None = None
    limit: int | None = None
    baseline: str | None = None
    group_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    path: str
    options: Options
    policy: str
    records: int
    gold_spans: int
    span_free: int
    chars: int
    systems: tuple[SystemResult, ...]


def _baseline(name: str, model: str) -> tuple[str, Detect]:
    from importlib.metadata import version

    from privlog.baseline import plain_presidio

    if name != "presidio":
        raise PrivlogError(f"unknown baseline {name!r}; the only one is 'presidio'")
    engine = plain_presidio(model)
    return f"presidio/{version('presidio-analyzer')} model/{model}", presidio_detect(engine)


def run(options: Options) -> Report:
    """Load the file, score privlog (and the baseline, if asked) and return the numbers."""
    from privlog.config import Settings
    from privlog.detect.engine import get_detector
    from privlog.detect.settings import DEFAULT_MODEL

    unknown = sorted(set(options.group_by) - set(GROUP_FIELDS))
    if unknown:
        raise PrivlogError(f"cannot group by {unknown}; choose from {list(GROUP_FIELDS)}")
    if options.limit is not None and options.limit < 1:
        raise PrivlogError("--limit must be at least 1")
    records = load_records(options.path, lang=options.lang, limit=options.limit)
    if not records:
        raise PrivlogError(f"no records to score in {options.path} (check --lang)")
    policy = Settings.from_env().policy
    detector = get_detector(policy.detection)
    systems = [
        score_system("privlog", detector.version, detector.detect_batch, records, options.group_by)
    ]
    if options.baseline is not None:
        # Same spaCy model as privlog; a rules-only policy still compares against Presidio
        # on the default model.
        label, detect = _baseline(options.baseline, policy.detection.model or DEFAULT_MODEL)
        systems.append(score_system(options.baseline, label, detect, records, options.group_by))
    return Report(
        path=options.path,
        options=options,
        policy=policy.version,
        records=len(records),
        gold_spans=sum(len(r.spans) for r in records),
        span_free=sum(1 for r in records if not r.spans),
        chars=sum(len(r.text) for r in records),
        systems=tuple(systems),
    )


# --- output ----------------------------------------------------------------------------


def _points(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(100 * (a - b), 2)


def _prf_json(c: Counts) -> dict[str, object]:
    return {
        "tp": c.tp,
        "fp": c.fp,
        "fn": c.fn,
        "precision": c.precision,
        "recall": c.recall,
        "f1": c.f1,
    }


def _leak_json(leak: Leak) -> dict[str, object]:
    return {"gold": leak.gold, "caught": leak.caught, "recall": leak.recall}


def _changed_json(changed: Changed) -> dict[str, object]:
    return {"span_free": changed.span_free, "changed": changed.changed, "share": changed.share}


def _group_json(group: Group) -> dict[str, object]:
    return {
        "records": group.records,
        "leak_recall": _leak_json(group.leak),
        "core_leak_recall": _leak_json(group.core),
        "changed_share": _changed_json(group.changed),
    }


def _system_json(s: SystemResult) -> dict[str, object]:
    return {
        "detector": s.detector,
        "leak_recall": {
            **_leak_json(s.leak_total),
            "core": _leak_json(s.leak_core),
            "per_label": {k: _leak_json(v) for k, v in s.leak.items()},
        },
        "typed": {
            **_prf_json(s.typed_total),
            "per_label": {k: _prf_json(v) for k, v in s.typed.items()},
        },
        "changed_share": _changed_json(s.changed),
        "throughput": {
            "chars": s.chars,
            "seconds": round(s.seconds, 4),
            "chars_per_s": s.chars_per_s,
        },
        "groups": {
            name: {value: _group_json(g) for value, g in values.items()}
            for name, values in s.groups.items()
        },
    }


def _difference_json(a: SystemResult, b: SystemResult) -> dict[str, object]:
    labels = sorted(set(a.leak) | set(b.leak) | set(a.typed) | set(b.typed))
    ratio = None
    if a.chars_per_s is not None and b.chars_per_s:
        ratio = a.chars_per_s / b.chars_per_s
    empty_leak, empty_counts = Leak(), Counts()
    return {
        "baseline": b.name,
        "leak_recall_points": _points(a.leak_total.recall, b.leak_total.recall),
        "typed_f1_points": _points(a.typed_total.f1, b.typed_total.f1),
        "changed_share_points": _points(a.changed.share, b.changed.share),
        "throughput_ratio": ratio,
        "per_label": {
            label: {
                "leak_recall_points": _points(
                    a.leak.get(label, empty_leak).recall, b.leak.get(label, empty_leak).recall
                ),
                "typed_f1_points": _points(
                    a.typed.get(label, empty_counts).f1, b.typed.get(label, empty_counts).f1
                ),
            }
            for label in labels
        },
    }


def to_json(report: Report) -> dict[str, object]:
    """Every number of the report as one JSON-ready object (no record text)."""
    out: dict[str, object] = {
        "file": report.path,
        "filters": {"lang": report.options.lang, "limit": report.options.limit},
        "policy": report.policy,
        "records": report.records,
        "gold_spans": report.gold_spans,
        "span_free_records": report.span_free,
        "chars": report.chars,
        "group_by": list(report.options.group_by),
        "systems": {s.name: _system_json(s) for s in report.systems},
    }
    if len(report.systems) > 1:
        out["difference"] = _difference_json(report.systems[0], report.systems[1])
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _diff(a: float | None, b: float | None) -> str:
    points = _points(a, b)
    return "-" if points is None else f"{points:+.1f}"


def _layout(rows: Sequence[Sequence[str]]) -> list[str]:
    """Align columns: the first left, the rest right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def _leak_rows(systems: Sequence[SystemResult]) -> list[list[str]]:
    two = len(systems) > 1
    header = ["leak recall %", "gold", *(s.name for s in systems), *(["diff"] if two else [])]
    rows = [header]
    labels = sorted({label for s in systems for label in s.leak})
    entries: list[tuple[str, list[Leak]]] = [
        ("all", [s.leak_total for s in systems]),
        ("core", [s.leak_core for s in systems]),
    ]
    entries += [(f"  {label}", [s.leak.get(label, Leak()) for s in systems]) for label in labels]
    for name, leaks in entries:
        row = [name, str(leaks[0].gold), *(_pct(x.recall) for x in leaks)]
        if two:
            row.append(_diff(leaks[0].recall, leaks[1].recall))
        rows.append(row)
    changed = [s.changed for s in systems]
    row = ["changed share %", str(changed[0].span_free), *(_pct(c.share) for c in changed)]
    if two:
        row.append(_diff(changed[0].share, changed[1].share))
    rows.append(row)
    speeds = [s.chars_per_s for s in systems]
    row = ["chars/s", "", *("-" if v is None else f"{v:,.0f}" for v in speeds)]
    if two:
        row.append("-" if speeds[0] is None or not speeds[1] else f"{speeds[0] / speeds[1]:.2f}x")
    rows.append(row)
    return rows


def _typed_rows(systems: Sequence[SystemResult]) -> list[list[str]]:
    two = len(systems) > 1
    header = ["typed P/R/F1 %", "gold"]
    for s in systems:
        header += [f"{s.name} P", "R", "F1"]
    rows = [header + (["diff F1"] if two else [])]
    labels = sorted({label for s in systems for label in s.typed})
    entries: list[tuple[str, list[Counts]]] = [("all", [s.typed_total for s in systems])]
    entries += [(f"  {label}", [s.typed.get(label, Counts()) for s in systems]) for label in labels]
    for name, counts in entries:
        row = [name, str(counts[0].tp + counts[0].fn)]
        for c in counts:
            row += [_pct(c.precision), _pct(c.recall), _pct(c.f1)]
        if two:
            row.append(_diff(counts[0].f1, counts[1].f1))
        rows.append(row)
    return rows


def _group_rows(name: str, systems: Sequence[SystemResult]) -> list[list[str]]:
    two = len(systems) > 1
    header = [f"by {name}", "records", "gold", "span-free"]
    for s in systems:
        header += [f"{s.name} leak %", f"{s.name} core %", f"{s.name} changed %"]
    rows = [header + (["diff leak", "diff changed"] if two else [])]
    values = sorted({v for s in systems for v in s.groups.get(name, {})})
    for value in values:
        groups = [s.groups.get(name, {}).get(value, Group()) for s in systems]
        first = groups[0]
        row = [value, str(first.records), str(first.leak.gold), str(first.changed.span_free)]
        for g in groups:
            row += [_pct(g.leak.recall), _pct(g.core.recall), _pct(g.changed.share)]
        if two:
            row += [
                _diff(first.leak.recall, groups[1].leak.recall),
                _diff(first.changed.share, groups[1].changed.share),
            ]
        rows.append(row)
    return rows


def format_table(report: Report) -> str:
    """The report as aligned plain-text tables (numbers only, no record text)."""
    lines = [
        f"{report.records:,} records ({report.span_free:,} span-free), "
        f"{report.gold_spans:,} gold spans, {report.chars:,} characters",
        f"policy {report.policy}",
    ]
    lines += [f"{s.name}: {s.detector}" for s in report.systems]
    sections = [_leak_rows(report.systems), _typed_rows(report.systems)]
    sections += [_group_rows(name, report.systems) for name in report.options.group_by]
    for rows in sections:
        lines += ["", *_layout(rows)]
    return "\n".join(lines) + "\n"
