"""``Privlog``: the one object an application holds (one per process)."""

from __future__ import annotations

from collections.abc import Sequence

from privlog.config import Settings
from privlog.keys import KeyRing
from privlog.pipeline import Pipeline
from privlog.transform import Scrubbed, Transformer

__all__ = ["Privlog"]


class Privlog:
    """Settings, the detector and the transform policy, built once.

    >>> pl = Privlog.from_env()             # doctest: +SKIP
    >>> pl.scan("call me on 13800138000").text  # doctest: +SKIP
    'call me on <PHONE_NUMBER_1>'
    """

    def __init__(self, settings: Settings | None = None) -> None:
        from privlog.detect.engine import get_detector

        self.settings = settings or Settings()
        policy = self.settings.policy
        key_file = self.settings.key_file
        transformer = Transformer(
            policy.operators,
            default=policy.default_operator,
            keyring=lambda: KeyRing.load(key_file),
        )
        self.pipeline = Pipeline(get_detector(policy.detection), transformer)

    @classmethod
    def from_env(cls) -> Privlog:
        return cls(Settings.from_env())

    def __repr__(self) -> str:
        return f"Privlog(settings={self.settings!r})"

    def scan(self, text: str) -> Scrubbed:
        """Scrub one text; offsets in the result index ``text``."""
        return self.pipeline.scrub(text)

    def scan_many(self, texts: Sequence[str]) -> list[Scrubbed]:
        """Scrub independent texts in one batch (each gets its own placeholder numbering)."""
        return self.pipeline.scrub_each(texts)
