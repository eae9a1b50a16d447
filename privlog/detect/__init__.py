"""Detection: what in a text identifies someone. Imports nothing heavy until used."""

from privlog.detect.findings import Detector, Finding
from privlog.detect.settings import DEFAULT_ENTITIES, DEFAULT_MODEL, DetectionSettings

__all__ = ["DEFAULT_ENTITIES", "DEFAULT_MODEL", "DetectionSettings", "Detector", "Finding"]
