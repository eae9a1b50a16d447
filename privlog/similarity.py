"""Keyed MinHash fingerprints, for catching a flagged output when it is generated again.

A text becomes a set of *shingles*: overlapping pairs of tokens, where a token is a word
(letters or digits) or a single CJK character (so Chinese text gives character pairs),
taken from the normalised, case-folded text (so punctuation, zero-width characters,
full-width letters or a change of case do not make a new text).
Each shingle is hashed with a key from the key ring (BLAKE2b, keyed), so the stored
signatures say nothing to anyone without the key: they cannot be tested against guessed
content. ``PERMUTATIONS`` universal hash functions, their coefficients also derived from
the key, turn the set into a signature of minima; the share of equal minima between two
signatures estimates the Jaccard similarity of the two sets.

Similarity here is the *containment* of the smaller set in the larger (the share of its
shingles found in the other), estimated from the Jaccard estimate and both set sizes,
when the smaller has at least ``MIN_SHINGLES`` shingles and the two sizes are within
``CONTAINMENT_RATIO`` of each other; otherwise the Jaccard estimate. Containment catches a
flagged text regenerated inside a longer reply, and a streamed reply a quarter of the way
into regenerating one, which plain Jaccard would miss; the size limit keeps a short reply
from matching a long flagged one just for sharing common word pairs.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from privlog.text import normalise

__all__ = [
    "CONTAINMENT_RATIO",
    "MIN_SHINGLES",
    "PERMUTATIONS",
    "MinHasher",
    "RunningSignature",
    "Signature",
]

PERMUTATIONS = 128
MIN_SHINGLES = 24  # about 25 words: shorter texts are compared by Jaccard only
# Containment counts only between texts within this factor of each other's size: any
# short text shares most of its word pairs with a long enough unrelated one.
CONTAINMENT_RATIO = 4
_PRIME = np.uint64(4_294_967_291)  # the largest prime below 2**32: a*x + b fits in 64 bits
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_\u3400-\u9fff\uf900-\ufaff]+")

Vector = npt.NDArray[np.uint64]


def tokens(text: str) -> list[str]:
    """Words and single CJK characters of the normalised, case-folded text."""
    return _TOKEN.findall(normalise(text).text.casefold())


@dataclass(frozen=True, slots=True)
class Signature:
    """A MinHash signature and the size of the shingle set it summarises."""

    values: Vector = field(repr=False)
    size: int

    def hex(self) -> str:
        return self.values.astype(">u4").tobytes().hex()

    @classmethod
    def from_hex(cls, text: str, size: int) -> Signature:
        raw = bytes.fromhex(text)
        if len(raw) != PERMUTATIONS * 4:
            raise ValueError(f"a signature holds {PERMUTATIONS} 32-bit values")
        return cls(np.frombuffer(raw, dtype=">u4").astype(np.uint64), size)


class MinHasher:
    """Keyed shingle hashing and the permutations, from one secret sub-key."""

    def __init__(self, key: bytes, kid: str) -> None:
        if len(key) < 16:
            raise ValueError("the fingerprint key must be at least 128 bits")
        self.kid = kid
        self._key = key[:64]
        self._keyed = hashlib.blake2b(key=self._key, digest_size=4)
        seed = hashlib.blake2b(b"privlog/minhash/coefficients", key=self._key).digest()
        rng = np.random.Generator(np.random.PCG64(int.from_bytes(seed[:16], "big")))
        self._a = rng.integers(1, int(_PRIME), PERMUTATIONS, dtype=np.uint64)[:, None]
        self._b = rng.integers(0, int(_PRIME), PERMUTATIONS, dtype=np.uint64)[:, None]

    def __repr__(self) -> str:
        return f"MinHasher(kid={self.kid!r})"

    def shingle_hashes(self, text: str) -> set[int]:
        return {self._hash(_pair(a, b)) for a, b in itertools.pairwise(tokens(text))}

    def _hash(self, shingle: str) -> int:
        keyed = self._keyed.copy()  # a copy skips the key's setup block on every shingle
        keyed.update(shingle.encode())
        return int.from_bytes(keyed.digest(), "big")

    def minima(self, hashes: Iterable[int]) -> Vector:
        x = np.fromiter(hashes, dtype=np.uint64)
        if not x.size:
            return np.full(PERMUTATIONS, int(_PRIME), dtype=np.uint64)
        return np.asarray(((self._a * x[None, :] + self._b) % _PRIME).min(axis=1))

    def signature(self, text: str) -> Signature:
        hashes = self.shingle_hashes(text)
        return Signature(self.minima(hashes), len(hashes))

    def running(self) -> RunningSignature:
        return RunningSignature(self)


class RunningSignature:
    """A signature built as a streamed text arrives, one piece at a time, without hashing
    any part twice."""

    def __init__(self, hasher: MinHasher) -> None:
        self.hasher = hasher
        self._seen: set[int] = set()
        self._values = hasher.minima(())
        self._pending = ""  # the start of a token that may continue in the next piece
        self._last = ""  # the newest complete token, the left half of the next shingle

    def feed(self, piece: str, *, final: bool = False) -> Signature:
        text = self._pending + normalise(piece).text.casefold()
        found = list(_TOKEN.finditer(text))
        self._pending = ""
        if not final and found and found[-1].end() == len(text):
            self._pending = text[found.pop().start() :]
        words = [m.group() for m in found]
        chain = [self._last, *words] if self._last else words
        if words:
            self._last = words[-1]
        new = {self.hasher._hash(_pair(a, b)) for a, b in itertools.pairwise(chain)} - self._seen
        if new:
            self._seen |= new
            self._values = np.minimum(self._values, self.hasher.minima(new))
        return Signature(self._values.copy(), len(self._seen))


def _pair(a: str, b: str) -> str:
    return f"{a}\x1f{b}"


def similarity(candidate: Signature, flagged: Signature) -> float:
    """Estimated containment of the smaller qualifying set in the other (see the module)."""
    return float(similarities(candidate, np.stack([flagged.values]), np.array([flagged.size]))[0])


def similarities(
    candidate: Signature, values: npt.NDArray[np.uint64], sizes: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """:func:`similarity` of ``candidate`` against many signatures at once."""
    if candidate.size == 0 or not len(values):
        return np.zeros(len(values))
    jaccard = (values == candidate.values[None, :]).mean(axis=1)
    shared = jaccard * (candidate.size + sizes) / (1 + jaccard)  # |A ∩ B|, estimated
    best = jaccard.copy()
    smaller = np.minimum(sizes, candidate.size)
    comparable = (smaller >= MIN_SHINGLES) & (
        smaller * CONTAINMENT_RATIO >= np.maximum(sizes, candidate.size)
    )
    best[comparable] = np.maximum(best[comparable], shared[comparable] / smaller[comparable])
    result: npt.NDArray[np.float64] = np.minimum(best, 1.0)
    return result
