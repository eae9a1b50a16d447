"""Plain Presidio, the reference privlog is measured against (``privlog eval --baseline``,
``benchmarks/scan.py``).

Presidio-analyzer's ``AnalyzerEngine`` as an application would build it: its default
recognisers and a spaCy NLP engine with every component of the model. The one difference
from Presidio's own defaults is that nothing is fetched: the model must be installed (Presidio
would download it) and tldextract uses its bundled public-suffix snapshot.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from privlog.errors import ModelNotInstalled

# Must be set before presidio_analyzer (and with it tldextract) is first imported: its
# e-mail recogniser would otherwise fetch the public-suffix list.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine

__all__ = ["plain_presidio"]


def plain_presidio(model: str) -> AnalyzerEngine:
    """Presidio's default ``AnalyzerEngine`` on the installed spaCy package ``model``.

    Raises :class:`~privlog.errors.ModelNotInstalled` if the package is missing; it never
    downloads one.
    """
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from privlog.detect.engine import pip_name_for_model

    if not spacy.util.is_package(model):
        raise ModelNotInstalled(model, pip_name_for_model(model))
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": model}],
        }
    )
    return AnalyzerEngine(nlp_engine=provider.create_engine())
