"""The core pipeline: normalise → detect → transform. Framework-free; adapters call this."""

from __future__ import annotations

from collections.abc import Sequence

from privlog.detect.findings import Detector
from privlog.text import replace_surrogates
from privlog.transform import Scope, Scrubbed, Transformer

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
