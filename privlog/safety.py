"""Content rules for illegal content: versioned rule files, matched in one pass.

A rule file (TOML) carries a ``version`` and a list of rules, each with a category, an
action (``flag`` or ``block``), keywords and/or regular expressions, and whether it applies
to user input, model output or both::

    version = "2026-11-01"

    [[rules]]
    id = "fraud-1"
    category = "fraud"
    action = "block"
    keywords = ["fake invoice", "洗钱"]
    patterns = ['counterfeit\\s+(?:notes|bills)']
    applies_to = ["input", "output"]

Text is normalised first (NFKC, format characters removed, digits folded, case folded,
white space collapsed), so zero-width characters, full-width letters or extra spaces do
not slip past a keyword. All keywords
of a rule set are matched in a single Aho-Corasick pass (``pyahocorasick``). The file is
re-read when it changes (checked at most every ``reload_seconds``); a broken new file is
refused and the last good rule set stays in force. Every decision carries the version of
the rule set that made it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ahocorasick  # type: ignore[import-not-found]  # no type stubs are published

from privlog.errors import ConfigError
from privlog.text import Normalised, normalise

__all__ = ["ContentDecision", "ContentRules", "Hit", "Rule", "RuleSet", "folded_offsets"]

log = logging.getLogger("privlog.safety")

Action = Literal["flag", "block"]
Direction = Literal["input", "output"]
_RULE_KEYS = {"id", "category", "action", "keywords", "patterns", "applies_to"}
_SPACES = re.compile(r"\s+")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}")


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: str
    category: str
    action: Action
    keywords: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    applies_to: frozenset[str]


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule that matched (never the matched text: it may be personal or illegal)."""

    rule_id: str
    category: str
    action: Action
    # Where the first match lies in the checked text (for a scrubbed excerpt in the
    # register), not the text itself.
    span: tuple[int, int] = field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ContentDecision:
    action: Literal["allow", "flag", "block"]
    hits: tuple[Hit, ...]
    ruleset_version: str | None

    @property
    def categories(self) -> list[str]:
        return sorted({h.category for h in self.hits})


def _fold(text: str) -> str:
    """Case-folded, with every run of white space made one space (so line breaks or padding
    between the words of a keyword do not hide it)."""
    return _SPACES.sub(" ", text.casefold())


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where} must be a list of non-empty strings")
    return tuple(value)


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    rule_id, category = raw.get("id"), raw.get("category")
    if not isinstance(rule_id, str) or not _ID.fullmatch(rule_id):
        raise ConfigError(f"{where}: id must be 1-64 letters, digits, '.', '_' or '-'")
    if not isinstance(category, str) or not category.strip():
        raise ConfigError(f"{where} ({rule_id}): category is required")
    action = raw.get("action", "flag")
    if action not in ("flag", "block"):
        raise ConfigError(f'{where} ({rule_id}): action must be "flag" or "block"')
    keywords = _strings(raw.get("keywords", []), f"{where} ({rule_id}) keywords")
    patterns = []
    for pattern in _strings(raw.get("patterns", []), f"{where} ({rule_id}) patterns"):
        try:
            patterns.append(re.compile(pattern, re.IGNORECASE))
        except re.error as exc:
            raise ConfigError(
                f"{where} ({rule_id}): {pattern!r} is not a valid regular expression ({exc})"
            ) from None
    if not keywords and not patterns:
        raise ConfigError(f"{where} ({rule_id}): give keywords, patterns or both")
    applies = _strings(raw.get("applies_to", ["input", "output"]), f"{where} applies_to")
    if not set(applies) <= {"input", "output"}:
        raise ConfigError(f'{where} ({rule_id}): applies_to holds "input" and/or "output"')
    return Rule(rule_id, category.strip(), action, keywords, tuple(patterns), frozenset(applies))


@dataclass
class RuleSet:
    """One version of the rules, with its keyword automaton built."""

    version: str
    rules: tuple[Rule, ...]
    source: str = "<memory>"
    modified: float = 0.0  # the file's mtime (seconds since the epoch)
    _automaton: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        ids = [r.rule_id for r in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ConfigError(f"{self.source}: duplicate rule ids {duplicates}")
        automaton = ahocorasick.Automaton()
        for index, rule in enumerate(self.rules):
            for keyword in rule.keywords:
                folded = _fold(normalise(keyword).text)
                _, owners = automaton.get(folded, (0, ()))
                automaton.add_word(folded, (len(folded), (*owners, index)))
        if len(automaton):
            automaton.make_automaton()
            self._automaton = automaton

    @property
    def longest_keyword(self) -> int:
        """Characters in the longest keyword (a stream must hold back at least this)."""
        return max((len(k) for r in self.rules for k in r.keywords), default=0)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<memory>") -> RuleSet:
        unknown = sorted(set(data) - {"version", "rules"})
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}")
        version = data.get("version")
        if not isinstance(version, str) or not version.strip():
            raise ConfigError(f'{source}: a rule file needs a version, e.g. version = "2026-11-01"')
        raw_rules = data.get("rules", [])
        if not isinstance(raw_rules, list):
            raise ConfigError(f"{source}: rules must be an array of tables ([[rules]])")
        rules = tuple(_rule(r, f"{source} rules[{i}]") for i, r in enumerate(raw_rules))
        return cls(version.strip(), rules, source)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> RuleSet:
        path = Path(path)
        try:
            modified = path.stat().st_mtime
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"rule file {path} does not exist") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"rule file {path} cannot be read: {type(exc).__name__}") from None
        ruleset = cls.from_mapping(data, str(path))
        ruleset.modified = modified
        return ruleset

    def check(self, text: str, direction: Direction) -> ContentDecision:
        """Which rules ``text`` (user input or model output) matches, and what to do. Hit
        spans index ``text`` itself."""
        norm = normalise(text)
        collapsed = _SPACES.sub(" ", norm.text)
        folded = collapsed.casefold()
        matched: dict[int, tuple[str, int, int]] = {}  # rule -> (which string, start, end)
        if self._automaton is not None and folded:
            for end, (length, owners) in self._automaton.iter(folded):
                for index in owners:
                    matched.setdefault(index, ("folded", end + 1 - length, end + 1))
        for index, rule in enumerate(self.rules):
            if index not in matched:
                for pattern in rule.patterns:
                    if found := pattern.search(collapsed):
                        matched[index] = ("collapsed", *found.span())
                        break
        hits = [
            (i, r) for i, r in enumerate(self.rules) if i in matched and direction in r.applies_to
        ]
        if not hits:
            return ContentDecision("allow", (), self.version)
        maps = _offset_maps(norm.text)
        spans = {i: _to_source(norm, maps[matched[i][0]], *matched[i][1:]) for i, _ in hits}
        found_hits = tuple(Hit(r.rule_id, r.category, r.action, spans[i]) for i, r in hits)
        action: Literal["allow", "flag", "block"] = (
            "block" if any(h.action == "block" for h in found_hits) else "flag"
        )
        return ContentDecision(action, found_hits, self.version)


def _offset_maps(norm: str) -> dict[str, list[int]]:
    """For the white-space-collapsed and the case-folded forms of ``norm``, the offset in
    ``norm`` of each character (built only when a rule matched, to place its excerpt)."""
    collapsed: list[int] = []
    folded: list[int] = []
    last_space = False
    for i, ch in enumerate(norm):
        space = ch.isspace()
        if space and last_space:
            continue
        last_space = space
        collapsed.append(i)
        folded.extend([i] * (1 if space else len(ch.casefold())))
    return {"collapsed": collapsed, "folded": folded}


def folded_offsets(text: str) -> list[int]:
    """The offset in ``text`` of each character of its matching form (normalised, white
    space collapsed, case-folded), ascending: how many characters a rule sees after any
    point of ``text``."""
    norm = normalise(text)
    folded = _offset_maps(norm.text)["folded"]
    if norm.is_identity:
        return folded
    return [norm.char_source(i)[0] for i in folded]


def _to_source(norm: Normalised, offsets: list[int], start: int, end: int) -> tuple[int, int]:
    if not offsets or end <= start:
        return 0, 0
    first = offsets[min(start, len(offsets) - 1)]
    last = offsets[min(end, len(offsets)) - 1]
    return norm.to_source(first, last + 1)


class ContentRules:
    """The rule file in force, re-read when it changes. Thread-safe."""

    def __init__(
        self, path: str | os.PathLike[str], *, reload_seconds: float = 5.0, max_age_days: int = 0
    ) -> None:
        self.path = Path(path)
        self.reload_seconds = reload_seconds
        self.max_age_days = max_age_days
        self._lock = threading.Lock()
        self._ruleset = RuleSet.from_file(self.path)  # a broken first file is an error
        self._checked = time.monotonic()

    def __repr__(self) -> str:
        return f"ContentRules(path={str(self.path)!r}, version={self._ruleset.version!r})"

    @property
    def ruleset(self) -> RuleSet:
        now = time.monotonic()
        with self._lock:
            if now - self._checked >= self.reload_seconds:
                self._checked = now
                self._maybe_reload()
            return self._ruleset

    def _maybe_reload(self) -> None:
        try:
            modified = self.path.stat().st_mtime
        except OSError as exc:
            log.error(
                "privlog: rule file unavailable (%s); keeping the rules in force",
                type(exc).__name__,
            )
            return
        if modified == self._ruleset.modified:
            return
        try:
            self._ruleset = RuleSet.from_file(self.path)
        except ConfigError as exc:
            # The message names the file and the rule, never matched text.
            log.error(
                "privlog: new rule file refused, keeping version %s: %s", self._ruleset.version, exc
            )

    def check(self, text: str, direction: Direction) -> ContentDecision:
        return self.ruleset.check(text, direction)

    def status(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """Version, file time and whether it is older than ``max_age_days`` (stale)."""
        ruleset = self.ruleset
        moment = now or dt.datetime.now(dt.UTC)
        modified = dt.datetime.fromtimestamp(ruleset.modified, dt.UTC)
        age_days = (moment - modified).total_seconds() / 86_400
        return {
            "version": ruleset.version,
            "rules": len(ruleset.rules),
            "file_modified": modified.isoformat(timespec="seconds"),
            "stale": bool(self.max_age_days) and age_days > self.max_age_days,
        }
