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
# A list starts where a word starts (not after a letter): the leftmost matches are the same,
# and the pattern is no longer tried again at every letter of every word (3x faster).
_LIST = re.compile(
    r"(?<![^\W\d_])(?:[^\W\d_][^\W\d_'’\-]*(?:[ \t][^\W\d_][^\W\d_'’\-]*)?,[ \t]+){2,}"
    r"(?:[^\W\d_][^\W\d_'’\-]*(?:[ \t][^\W\d_][^\W\d_'’\-]*)?,?[ \t]+)?(?:and|&|or)[ \t]+"
    r"[^\W\d_][^\W\d_'’\-]*(?:[ \t][^\W\d_][^\W\d_'’\-]*)?"
)
_ITEM_WORD = r"(?!(?:and|or)\b)[^\W\d_][^\W\d_'’\-]*"
_ITEM = re.compile(rf"(?<![^\W\d_]){_ITEM_WORD}(?:[ \t]{_ITEM_WORD})?")
_CUED = re.compile(
    r"(?:\bI'm|\bI[ \t]+am|\bsaid|\bdaughter|\bwife|\bhusband|\bDear|\bHi|\bHello|\bHey"
    r"|\bThanks|\bThank[ \t]+you|^|(?<=[.!?\n])[ \t]*)[ \t,]*"
    r"(?P<name>[A-ZÀ-Þ][^\W\d_]+)(?=[ \t]*,|[ \t]+(?:is|was|has|had|spent|began|can|will|would|"
    r"said|says|lives|lived|works|worked|went|told|asked|wants|needs|moved|grew)\b|[ \t]*['’]s\b)"
)
# After these a capitalised word is a name whether or not the census knows it.
_STRONG_CUE = re.compile(
    r"(?:\bcalls?[ \t]+me|\bcalled[ \t]+me|\bnamed(?:[ \t]+(?:him|her|them))?|\bI'm|\bI[ \t]+am)"
    r"[ \t]+(?P<name>[A-ZÀ-Þ][^\W\d_]+)(?![\w'])"
)
# A line that is just a name, as in a letter head or a signature: "Maureen Thibault".
_NAME_LINE = re.compile(
    r"(?:^|(?<=\n))[ \t>?]*(?P<name>[A-ZÀ-Þ][^\W\d_]+(?:[ \t]+[A-ZÀ-Þ]\.?)?"
    r"(?:[ \t]+[A-ZÀ-Þ][^\W\d_'’\-]+(?:[\-'’][A-ZÀ-Þ]?[^\W\d_]+)?){1,2})[ \t]*(?=\n|$)"
)
_NEXT_PART = re.compile(r"[ \t]+(?:[A-ZÀ-Þ][^\W\d_]*|[a-z]+[A-Z][^\W\d_]*)(?![\w])")
_NOT_SURNAME_WORDS = """
    street road avenue lane drive park hill field way court place square green
    garden gardens bridge house hall church mill brook wood woods lake river port
    station center centre club college university school bank group company"""
_NOT_SURNAMES = frozenset(_NOT_SURNAME_WORDS.split())
# First name and surname from the census lists, both capitalised: "Sandra Cazares".
# "Not after a word character" is checked after the capital (two characters back), so
# that the search can skip ahead to capitals.
_PAIR = re.compile(
    r"(?P<first>[A-Z](?<![\w][A-Z])[a-z]+)[ \t]+(?P<last>[A-Z][a-z]+(?:-[A-Z][a-z]+)?)(?![\w])"
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


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in spans)


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
        # An overlapping span is added too: scrubbing merges overlaps into their union, so
        # "Amanda Durham" completes the model's "Durham".
        if not _inside(self.spans, start, end):
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
    text = names.text
    for w in _TOKEN.finditer(text):
        word = w.group()
        if _jumbled(word) and (word.lower() in first or word.lower() in last):
            end = w.end()
            # The rest of the name: the capitalised or jumbled words that follow it.
            for _ in range(2):
                more = _NEXT_PART.match(text, end)
                if more is None:
                    break
                end = more.end()
            names.add(w.start(), end, 0.7, "names.jumbled_case")


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


def _cued(names: _Names, first: frozenset[str], last: frozenset[str]) -> None:
    text = names.text
    for cued in _CUED.finditer(text):
        name = cued.group("name")
        if name.lower() in first and name.lower() not in _COMMON:
            names.add(cued.start("name"), cued.end("name"), 0.65, "names.cued")
    for cued in _STRONG_CUE.finditer(text):
        if cued.group("name").lower() not in _COMMON:
            names.add(cued.start("name"), cued.end("name"), 0.65, "names.introduced")
    for line in _NAME_LINE.finditer(text):
        given = line.group("name").split()[0].lower()
        if given in first and given not in _COMMON:
            names.add(line.start("name"), line.end("name"), 0.7, "names.name_line")
    for pair in _PAIR.finditer(text):
        given, family = pair.group("first").lower(), pair.group("last").lower()
        family = family.split("-")[0]
        if given not in first or family not in last or family in _NOT_SURNAMES:
            continue
        if given not in _COMMON or family not in _COMMON:
            names.add(pair.start(), pair.end(), 0.65, "names.census_pair")


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
    _cued(names, first, last)
    return out + names.added
