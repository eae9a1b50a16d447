"""Collecting a request body for inspection, bounded by bytes received, never by headers.

Adapters feed chunks as the application reads them; the collector keeps at most
``max_bytes`` of (decompressed) body and notes what it could not keep. gzip and deflate are
inflated incrementally with the same cap, so a small compressed bomb costs at most the cap.
The collector never changes what the application receives.
"""

from __future__ import annotations

import zlib

__all__ = ["DEFAULT_MAX_INSPECT_BYTES", "BodyCollector"]

DEFAULT_MAX_INSPECT_BYTES = 1 << 20


class BodyCollector:
    """Accumulates up to ``max_bytes`` of a request body for inspection only."""

    __slots__ = (
        "_buffer",
        "_inflater",
        "complete",
        "max_bytes",
        "received",
        "truncated",
        "undecodable",
    )

    def __init__(
        self, max_bytes: int = DEFAULT_MAX_INSPECT_BYTES, content_encoding: str | None = None
    ) -> None:
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self.received = 0  # raw bytes seen, compressed or not
        self.truncated = False
        self.complete = False
        self.undecodable = False
        encoding = (content_encoding or "").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self._inflater: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflater = zlib.decompressobj()
        elif encoding in ("", "identity"):
            self._inflater = None
        else:  # br, zstd, ...: not inspected rather than misread
            self._inflater = None
            self.undecodable = True

    def __repr__(self) -> str:
        return f"BodyCollector(kept={len(self._buffer)}, truncated={self.truncated})"

    def feed(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.truncated or self.undecodable or not chunk:
            return
        room = self.max_bytes - len(self._buffer)
        if room <= 0:
            self.truncated = True  # (and decompress(chunk, 0) would mean "no limit")
            return
        if self._inflater is None:
            self._buffer += chunk[:room]
            if len(chunk) > room:
                self.truncated = True
            return
        try:
            self._buffer += self._inflater.decompress(chunk, room)
        except zlib.error:
            self.undecodable = True
            self._buffer.clear()
            return
        if self._inflater.unconsumed_tail:  # more output than room: the cap is reached
            self.truncated = True

    def finish(self) -> None:
        """The application read the last chunk (``more_body`` false)."""
        self.complete = True

    @property
    def body(self) -> bytes:
        return bytes(self._buffer)

    @property
    def flags(self) -> frozenset[str]:
        flags = set()
        if self.truncated:
            flags.add("truncated")
        if self.undecodable:
            flags.add("unparseable")
        if not self.complete:
            flags.add("partial")
        return frozenset(flags)
