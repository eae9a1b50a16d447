"""The core pipeline: normalise → detect → transform. Framework-free; adapters call this."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from privlog.detect.findings import Detector, Finding
from privlog.text import replace_surrogates
from privlog.transform import PLACEHOLDER_RE, Scope, Scrubbed, Transformer

__all__ = ["Pipeline"]


class Pipeline:
    """Scrubs texts with one detector and one transform policy.

    Every text in one :meth:`scrub_many` call (one request's fields) shares a
    :class:`~privlog.transform.Scope`, so the same value gets the same placeholder across
    the fields of a request.
    """

    def __init__(self, detector: Detector, transformer: Transformer) -> None:
        self.detector = detector
        self.transformer = transformer

    def __repr__(self) -> str:
        return f"Pipeline(detector={self.detector.name!r}, transformer={self.transformer!r})"

    def scrub(self, text: str, scope: Scope | None = None) -> Scrubbed:
        return self.scrub_many([text], scope)[0]

    def scrub_many(self, texts: Sequence[str], scope: Scope | None = None) -> list[Scrubbed]:
        """Scrub ``texts`` in one detector batch. Lone surrogates become U+FFFD first (one
        character for one, so offsets still index the input)."""
        clean = [replace_surrogates(t) for t in texts]
        scope = scope or self.transformer.scope()
        findings = self.detector.detect_batch(clean)
        return [scope.scrub(text, found) for text, found in zip(clean, findings, strict=True)]

    def scrub_each(self, texts: Sequence[str]) -> list[Scrubbed]:
        """Scrub independent texts (one scope each, one detector batch)."""
        clean = [replace_surrogates(t) for t in texts]
        findings = self.detector.detect_batch(clean)
        return [
            self.transformer.scope().scrub(text, found)
            for text, found in zip(clean, findings, strict=True)
        ]

    def rescan_fields(
        self, records: Sequence[Mapping[str, str]]
    ) -> list[tuple[dict[str, str], int]]:
        """:meth:`rescan_many` over each record's scrubbed fields, in one detector batch:
        the fields re-scanned and the replacements made, per record."""
        flat = [
            (i, name, text) for i, fields in enumerate(records) for name, text in fields.items()
        ]
        rescanned = self.rescan_many([text for _, _, text in flat]) if flat else []
        out: list[tuple[dict[str, str], int]] = [({}, 0) for _ in records]
        for (i, name, _), (text, hits) in zip(flat, rescanned, strict=True):
            out[i][0][name] = text
            out[i] = (out[i][0], out[i][1] + hits)
        return out

    def rescan_many(self, texts: Sequence[str]) -> list[tuple[str, int]]:
        """Detect again in already-scrubbed texts; replace what is found outside privlog's
        own placeholders. Returns ``(text, hits)`` per text.

        Defence in depth at the store boundary: whatever the first pass missed in its
        context (a name split across fields, a number glued to a placeholder) is caught here
        before it is written. Parts of a finding that fall on a placeholder are left alone.
        """
        results: list[tuple[str, int]] = []
        for text, found in zip(texts, self.detector.detect_batch(texts), strict=True):
            fresh = _outside_placeholders(text, found)
            if not fresh:
                results.append((text, 0))
                continue
            scope = self.transformer.scope()
            scope.continue_numbering(text)
            scrubbed = scope.scrub(text, fresh)
            results.append((scrubbed.text, len(scrubbed.replacements)))
        return results


def _outside_placeholders(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """The pieces of each finding that do not overlap a placeholder and hold a letter or
    digit (a bare bracket next to a placeholder is not worth replacing)."""
    protected = [m.span() for m in PLACEHOLDER_RE.finditer(text)]
    pieces: list[Finding] = []
    for f in findings:
        start = f.start
        for p_start, p_end in protected:
            if p_end <= start or p_start >= f.end:
                continue
            if p_start > start:
                pieces.append(_piece(f, start, p_start))
            start = max(start, p_end)
        if start < f.end:
            pieces.append(_piece(f, start, f.end))
    return [p for p in pieces if any(ch.isalnum() for ch in text[p.start : p.end])]


def _piece(f: Finding, start: int, end: int) -> Finding:
    return Finding(f.entity_type, start, end, f.score, f.detector, f.rule_id)
