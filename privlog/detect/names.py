"""Person names the NER model found once, or nearly: spread, extended and completed.

After all recognisers have run on a text, :func:`refine_names` looks at what was found:

* A name found once is found everywhere: each part of a PERSON finding ("Leslie" of
  "Leslie Terry") marks the other places where that word stands as a word, so the second
  mention that the model did not tag ("Leslie has been...") is replaced too.
* A title or a suffix belongs to the name ("Dr. Ryan Ricci", "Clarence Ford Jr.").
* A list that holds two names holds names: in "Romi, Erik, Amy and Donald" the items the
  model skipped are names too; a list counts when two items are names the model found or
  first names from the census list.
* A word in jumbled case ("KrIStInA", "AnnEtTE") that is a census first name or surname is
  a name: people do not write ordinary words that way, and the model cannot read them.
* Single first names after words that introduce a name ("calls me Izaak", "named him
  Sean", "I'm Cynthia") when the census list knows the name.

The name lists are the 1990 US Census first names and the 20,000 most common surnames
(public domain, via the ``names`` package), in ``privlog/detect/data``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from presidio_analyzer import RecognizerResult

from privlog.detect.base import make_result

__all__ = ["refine_names"]

_SOURCE = ("privlog.names", "privlog.names")
_SPREAD_FROM = 0.6  # a finding below this is not replaced, so it does not spread either
_MIN_WORD = 3
_LIST_KNOWN = 2
_LIST_ITEMS = 3
_TITLE_BEFORE = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Lady|Lord|Rev|Fr|Capt|Col|Gen|Sgt|Lt|Hon)"
    r"\.?[ \t]+)$"
)
_SUFFIX_AFTER = re.compile(r"^,?[ \t]+(?:Jr|Sr|II|III|IV|MD|PhD|DDS|DVM|Esq|CPA|RN)\b\.?")
_TOKEN = re.compile(r"[^\W\d_][^\W\d_'’\-]*")
# Words that are names and also ordinary words: never spread on their own.
_COMMON_WORDS = """
    will may june april august mark grant rose bill joy hope faith art guy ray dawn jack
    frank pat sue max rich amber ivy lily daisy holly summer autumn jordan chase hunter
    mason carter cooper parker don gene sandy brook dale glen lane wade cliff drew jean
    long young white black brown green gray grey king hall wood hill little love best
    star sky rain river stone church major page bell north south west east day case
    price page lord miles ward park young the and for you are was were with this that
    from have has had not but all can her his him she they them our your its one two
    new old man men doctor nurse patient mister miss"""
_COMMON = frozenset(_COMMON_WORDS.split())
_LIST = re.compile(
    r"(?:[^\W\d_][^\W\d_'’\-]*(?:[ \t][^\W\d_][^\W\d_'’\-]*)?,[ \t]+){2,}"
    r"(?:[^\W\d_][^\W\d_'’\-]*(?:[ \t][^\W\d_][^\W\d_'’\-]*)?,?[ \t]+)?(?:and|&|or)[ \t]+"
    r"[^\W\d_][^\W\d_'’\-]*(?:[ \t][^\W\d_][^\W\d_'’\-]*)?"
)
_ITEM = re.compile(r"[^\W\d_][^\W\d_'’\-]*(?:[ \t](?!(?:and|or)\b)[^\W\d_][^\W\d_'’\-]*)?")
_CUED = re.compile(
    r"(?:\bcalls?[ \t]+me|\bcalled[ \t]+me|\bnamed(?:[ \t]+(?:him|her|them))?|\bI'm|\bI[ \t]+am"
    r"|\bsaid|\bdaughter|\bwife|\bhusband|\bDear)[ \t]+"
    r"(?P<name>[A-Z][^\W\d_]+)(?![\w])"
)


@lru_cache(maxsize=1)
def _lists() -> tuple[frozenset[str], frozenset[str]]:
    data = resources.files("privlog.detect") / "data"
    first = frozenset((data / "first_names.txt").read_text(encoding="utf-8").split())
    last = frozenset((data / "surnames.txt").read_text(encoding="utf-8").split())
    return first, last


def _jumbled(word: str) -> bool:
    """Case that no spelling rule produces: "AnnEtTE", "morA", not "McDonald" or "iPhone"."""
    if word.islower() or word.isupper() or word.istitle() or len(word) < 3:
        return False
    rest = word[1:]
    return any(c.isupper() for c in rest[1:]) or (word[0].islower() and rest[-1].isupper())


def _covered(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


def _person(start: int, end: int, score: float, rule: str) -> RecognizerResult:
    return make_result(
        _SOURCE, entity_type="PERSON", start=start, end=end, score=score, rule_id=rule
    )


class _Names:
    """The PERSON spans of one text, growing as names are added."""

    def __init__(self, text: str, results: list[RecognizerResult]) -> None:
        self.text = text
        self.spans = [(r.start, r.end) for r in results if r.entity_type == "PERSON"]
        self.added: list[RecognizerResult] = []

    def add(self, start: int, end: int, score: float, rule: str) -> None:
        if not _covered(self.spans, start, end):
            self.spans.append((start, end))
            self.added.append(_person(start, end, score, rule))


def _extend_titles(text: str, people: list[RecognizerResult]) -> None:
    for r in people:
        before = _TITLE_BEFORE.search(text, 0, r.start)
        if before is not None and before.end() == r.start:
            r.start = before.start()
        after = _SUFFIX_AFTER.match(text[r.end : r.end + 8])
        if after is not None:
            r.end += after.end()


def _spread(names: _Names, people: list[RecognizerResult]) -> None:
    text = names.text
    words = {
        w.group().lower()
        for r in people
        if r.score >= _SPREAD_FROM
        for w in _TOKEN.finditer(text, r.start, r.end)
        if len(w.group()) >= _MIN_WORD and w.group().lower() not in _COMMON
    }
    if not words:
        return
    for w in _TOKEN.finditer(text):
        word = w.group()
        if word.lower() in words and (word[0].isupper() or _jumbled(word)):
            names.add(w.start(), w.end(), 0.7, "names.spread")


def _jumbled_names(names: _Names, first: frozenset[str], last: frozenset[str]) -> None:
    for w in _TOKEN.finditer(names.text):
        word = w.group()
        if _jumbled(word) and (word.lower() in first or word.lower() in last):
            names.add(w.start(), w.end(), 0.7, "names.jumbled_case")


def _listed(names: _Names, first: frozenset[str]) -> None:
    text = names.text
    for listed in _LIST.finditer(text):
        items = [
            i
            for i in _ITEM.finditer(text, listed.start(), listed.end())
            if i.group() not in ("and", "or")
        ]
        known = sum(
            _covered(names.spans, i.start(), i.end()) or i.group().split()[0].lower() in first
            for i in items
        )
        if known >= _LIST_KNOWN and len(items) >= _LIST_ITEMS:
            for i in items:
                names.add(i.start(), i.end(), 0.65, "names.list")


def _cued(names: _Names, first: frozenset[str]) -> None:
    for cued in _CUED.finditer(names.text):
        name = cued.group("name")
        if name.lower() in first and name.lower() not in _COMMON:
            names.add(cued.start("name"), cued.end("name"), 0.65, "names.cued")


def refine_names(text: str, results: Iterable[RecognizerResult]) -> list[RecognizerResult]:
    """The results with PERSON findings extended and completed (see module docstring)."""
    first, last = _lists()
    out = list(results)
    people = [r for r in out if r.entity_type == "PERSON"]
    _extend_titles(text, people)
    names = _Names(text, out)
    _spread(names, people)
    _jumbled_names(names, first, last)
    _listed(names, first)
    _cued(names, first)
    return out + names.added
