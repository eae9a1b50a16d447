"""Exceptions raised by privlog. Every message says what to do next and never quotes user input."""

from __future__ import annotations

__all__ = [
    "AuditSetupError",
    "ConfigError",
    "DetectorError",
    "EgressBlocked",
    "InvalidSubject",
    "KeyFileError",
    "ModelNotInstalled",
    "PrivlogError",
    "RegisterError",
    "StoreError",
]


class PrivlogError(Exception):
    """Base class of every error privlog raises on purpose."""


class ConfigError(PrivlogError):
    """The settings (environment or policy file) are invalid."""


class ModelNotInstalled(PrivlogError):
    """The spaCy model named in the settings is not installed; privlog never downloads one."""

    def __init__(self, model: str, pip_name: str) -> None:
        self.model = model
        self.pip_name = pip_name
        super().__init__(
            f"spaCy model {model!r} is not installed, and privlog never downloads models at run "
            f"time. Install it with: pip install {pip_name}"
        )


class InvalidSubject(PrivlogError, ValueError):
    """An ``identify()`` hook returned something privlog cannot keep as a subject."""


class KeyFileError(PrivlogError):
    """The key file is missing, unreadable, malformed or has unsafe permissions."""


class DetectorError(PrivlogError):
    """Detection failed; the message names the stage, never the text."""


class StoreError(PrivlogError):
    """The usage-record store is not usable (not migrated, unreachable, read-only)."""


class EgressBlocked(PrivlogError):
    """An outbound call was refused; the message names the host and the setting to change."""

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        self.reason = reason
        super().__init__(f"privlog refused the call to {host}: {reason}")


class AuditSetupError(PrivlogError):
    """The auditor API cannot start safely (for example, its connection could write)."""


class RegisterError(PrivlogError):
    """A flagged-content register operation cannot be done (unknown entry, no note...)."""
