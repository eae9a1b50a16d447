"""Text normalisation for detection, with an exact map back to the original offsets.

Detectors see a normalised copy of the input: NFKC (full-width letters and digits, the
full-width at sign, ligatures), format characters removed (zero-width space and joiners,
word joiner, BOM, soft hyphen, bidi controls: anything of category Cf), and every Unicode
decimal digit folded to ASCII (Arabic-Indic, Devanagari, ...). Evasion by formatting then
costs nothing extra, because each recogniser matches plain ASCII forms only.

Findings come back in normalised offsets; :meth:`Normalised.to_source` maps a span to the
smallest span of the original text that produced it, so the scrubber replaces exactly the
characters the user sent, including any zero-width characters hidden inside a number.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["Normalised", "normalise", "replace_surrogates"]

# Characters that NFKC, format stripping and digit folding always leave alone: ASCII and
# the CJK ideograph blocks. Only the characters outside this class are looked at one by one.
_MAYBE_CHANGED = re.compile(r"[^\x00-\x7f\u3400-\u4dbf\u4e00-\u9fff]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def replace_surrogates(text: str) -> str:
    """Replace lone surrogates (undecodable input) with U+FFFD, keeping every offset."""
    return _SURROGATE.sub("\ufffd", text)


@lru_cache(maxsize=8192)
def _fold_cluster(cluster: str) -> str:
    if _SURROGATE.search(cluster):
        return "\ufffd" * len(cluster)
    out = []
    for ch in unicodedata.normalize("NFKC", cluster):
        if unicodedata.category(ch) == "Cf":
            continue
        digit = unicodedata.decimal(ch, None)
        out.append(str(digit) if digit is not None else ch)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Normalised:
    """A normalised text and the map from its offsets back to the source text.

    ``edits`` lists the clusters that changed as ``(norm_start, norm_end, src_start,
    src_end)``, in order; everything between two edits is copied one to one.
    """

    text: str
    source: str
    edits: tuple[tuple[int, int, int, int], ...] = ()
    _norm_starts: tuple[int, ...] = field(default=(), repr=False, compare=False)

    @property
    def is_identity(self) -> bool:
        return not self.edits

    def char_source(self, pos: int) -> tuple[int, int]:
        """The source span that produced normalised character ``pos``."""
        i = bisect.bisect_right(self._norm_starts, pos) - 1
        if i < 0:
            return pos, pos + 1
        _, n_end, s_start, s_end = self.edits[i]
        if pos < n_end:
            return s_start, s_end
        # pos lies in the run copied one to one after this edit
        shifted = pos - n_end + s_end
        return shifted, shifted + 1

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalised span ``[start, end)`` to the source span that produced it."""
        if not self.edits:
            return start, end
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span {start}:{end} is outside the normalised text")
        if start == end:
            if start == len(self.text):
                return len(self.source), len(self.source)
            s, _ = self.char_source(start)
            return s, s
        s, _ = self.char_source(start)
        _, e = self.char_source(end - 1)
        return s, e


def normalise(text: str) -> Normalised:
    """Return the detection form of ``text`` with its offset map (see module docstring)."""
    if text.isascii():
        return Normalised(text, text)
    pieces: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    src_pos = 0
    norm_len = 0
    for match in _MAYBE_CHANGED.finditer(text):
        run_start, run_end = match.span()
        # A run that opens with combining marks belongs with the character before it.
        if run_start > 0 and unicodedata.combining(text[run_start]) and run_start > src_pos:
            run_start -= 1
        if run_start > src_pos:
            pieces.append(text[src_pos:run_start])
            norm_len += run_start - src_pos
        i = run_start
        while i < run_end:
            j = i + 1
            while j < len(text) and unicodedata.combining(text[j]):
                j += 1
            cluster = text[i:j]
            folded = _fold_cluster(cluster)
            if folded != cluster:
                edits.append((norm_len, norm_len + len(folded), i, j))
            pieces.append(folded)
            norm_len += len(folded)
            i = j
        src_pos = max(run_end, i)
    pieces.append(text[src_pos:])
    if not edits:
        return Normalised(text, text)
    return Normalised("".join(pieces), text, tuple(edits), tuple(e[0] for e in edits))
