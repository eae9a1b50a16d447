"""A lean regex recogniser for Presidio: compiled once, validated per match, no per-call setup.

Presidio's ``PatternRecognizer`` rebuilds an explanation object and takes timestamps for
every pattern on every call, and its validation hook can only say valid/invalid. privlog's
rules need graded scores (a mobile number with ``+86`` is surer than a bare one), so each
rule is a compiled pattern plus a function that returns a score or ``None`` to reject.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

__all__ = ["Rule", "RuleRecognizer", "fixed", "make_result"]

Scorer = Callable[["re.Match[str]"], float | None]


def make_result(
    source: tuple[str, str], *, entity_type: str, start: int, end: int, score: float, rule_id: str
) -> RecognizerResult:
    """A Presidio result carrying the rule id (the context enhancer needs the explanation)."""
    return RecognizerResult(
        entity_type=entity_type,
        start=start,
        end=end,
        score=score,
        analysis_explanation=AnalysisExplanation(
            recognizer=source[0], original_score=score, pattern_name=rule_id
        ),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: source[0],
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: source[1],
            "rule_id": rule_id,
        },
    )


def fixed(score: float) -> Scorer:
    """A scorer that accepts every match at ``score``."""

    def _score(_: re.Match[str]) -> float:
        return score

    return _score


@dataclass(frozen=True, slots=True)
class Rule:
    """One pattern for one entity type. ``group`` selects the part of the match to report;
    ``None`` reports the first group that took part in the match (for alternations)."""

    rule_id: str
    entity_type: str
    pattern: re.Pattern[str]
    scorer: Scorer
    group: int | None = 0


class RuleRecognizer(LocalRecognizer):
    """Runs a list of :class:`Rule` over the text; context words feed Presidio's enhancer."""

    def __init__(self, name: str, rules: Sequence[Rule], context: Sequence[str] = ()) -> None:
        self._rules = tuple(rules)
        super().__init__(
            supported_entities=sorted({r.entity_type for r in rules}),
            supported_language="en",
            name=name,
            context=list(context),
        )
        # Presidio matches results to recognisers by this id when it applies context words.
        self._source = (name, str(self.id))

    def load(self) -> None:
        """Nothing to load: patterns are compiled at import."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        wanted = set(entities) if entities else None
        results: list[RecognizerResult] = []
        for rule in self._rules:
            if wanted is not None and rule.entity_type not in wanted:
                continue
            for match in rule.pattern.finditer(text):
                score = rule.scorer(match)
                if score is None:
                    continue
                group = rule.group
                if group is None:
                    group = next(i for i, g in enumerate(match.groups(), 1) if g is not None)
                start, end = match.span(group)
                results.append(
                    make_result(
                        self._source,
                        entity_type=rule.entity_type,
                        start=start,
                        end=end,
                        score=score,
                        rule_id=rule.rule_id,
                    )
                )
        return results
