"""privlog: privacy-preserving input logging for generative-AI services.

The heavy parts (spaCy, Presidio) load on first use, not on ``import privlog``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from privlog._version import __version__
from privlog.errors import (
    ConfigError,
    DetectorError,
    EgressBlocked,
    InvalidSubject,
    KeyFileError,
    ModelNotInstalled,
    PrivlogError,
    StoreError,
)

if TYPE_CHECKING:
    from privlog.config import Policy, Settings
    from privlog.core import Privlog, Receipt
    from privlog.detect.findings import Finding
    from privlog.egress import install_egress_guard
    from privlog.identity import Subject
    from privlog.records import UsageRecord
    from privlog.store.migrate import migrate
    from privlog.transform import Replacement, Scrubbed

__all__ = [
    "ConfigError",
    "DetectorError",
    "EgressBlocked",
    "Finding",
    "InvalidSubject",
    "KeyFileError",
    "ModelNotInstalled",
    "Policy",
    "Privlog",
    "PrivlogError",
    "Receipt",
    "Replacement",
    "Scrubbed",
    "Settings",
    "StoreError",
    "Subject",
    "UsageRecord",
    "__version__",
    "install_egress_guard",
    "migrate",
]

_LAZY = {
    "Privlog": "privlog.core",
    "Policy": "privlog.config",
    "Settings": "privlog.config",
    "Finding": "privlog.detect.findings",
    "Replacement": "privlog.transform",
    "Scrubbed": "privlog.transform",
    "Receipt": "privlog.core",
    "Subject": "privlog.identity",
    "UsageRecord": "privlog.records",
    "migrate": "privlog.store.migrate",
    "install_egress_guard": "privlog.egress",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'privlog' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
