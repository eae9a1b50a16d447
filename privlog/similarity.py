"""Keyed MinHash fingerprints, for catching a flagged output when it is generated again.

A text becomes a set of *shingles*: the overlapping runs of five characters of its token
stream, where a token is a word (letters or digits) or a single CJK character, taken from
the normalised, case-folded text and joined by single spaces (so punctuation, zero-width
characters, full-width letters or a change of case do not make a new text, and a changed
word changes only the shingles that overlap it).
Each shingle is hashed with a key from the key ring (BLAKE2b, keyed), so the stored
signatures say nothing to anyone without the key: they cannot be tested against guessed
content. ``PERMUTATIONS`` universal hash functions, their coefficients also derived from
the key, turn the set into a signature of minima; the share of equal minima between two
signatures estimates the Jaccard similarity of the two sets.

Similarity here is the larger of the two *containments* (the share of one text's shingles
found in the other), estimated from the Jaccard estimate and both set sizes, for texts of
at least ``MIN_SHINGLES`` shingles (shorter ones use the Jaccard estimate). Containment
catches a flagged text regenerated inside a longer reply, and the first part of a streamed
reply that is regenerating one, which plain Jaccard would miss.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from privlog.text import normalise

__all__ = ["MIN_SHINGLES", "PERMUTATIONS", "SHINGLE", "MinHasher", "RunningSignature", "Signature"]

PERMUTATIONS = 128
SHINGLE = 5  # characters per shingle
MIN_SHINGLES = 120  # about twenty words: shorter texts are compared by Jaccard only
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
        return {self._hash(g) for g in _grams(" ".join(tokens(text)))}

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
        self._tail = ""  # the last SHINGLE - 1 characters of the token stream so far

    def feed(self, piece: str, *, final: bool = False) -> Signature:
        text = self._pending + normalise(piece).text.casefold()
        found = list(_TOKEN.finditer(text))
        self._pending = ""
        if not final and found and found[-1].end() == len(text):
            self._pending = text[found.pop().start() :]
        words = " ".join(m.group() for m in found)
        if not words:
            return Signature(self._values.copy(), len(self._seen))
        stream = f"{self._tail} {words}" if self._tail else words
        self._tail = stream[-(SHINGLE - 1) :]
        # Every gram of ``stream`` holds at least one new character: none is counted twice.
        new = {self.hasher._hash(g) for g in _grams(stream)} - self._seen
        if new:
            self._seen |= new
            self._values = np.minimum(self._values, self.hasher.minima(new))
        return Signature(self._values.copy(), len(self._seen))


def _grams(stream: str) -> Iterator[str]:
    return (stream[i : i + SHINGLE] for i in range(len(stream) - SHINGLE + 1))


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
    if candidate.size >= MIN_SHINGLES:
        best = np.maximum(best, shared / candidate.size)
    big = sizes >= MIN_SHINGLES
    best[big] = np.maximum(best[big], shared[big] / sizes[big])
    result: npt.NDArray[np.float64] = np.minimum(best, 1.0)
    return result
