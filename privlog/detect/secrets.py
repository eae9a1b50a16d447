"""Secrets that must never be logged: API keys, cloud credentials, tokens, private keys.

Not personal data, but a prompt that pastes one and a log that keeps it hand the key to
whoever reads the log. Each rule is a vendor's documented token shape; all are SECRET.
"""

from __future__ import annotations

import re

from privlog.detect.base import Rule, RuleRecognizer, fixed

__all__ = ["secret_recognizers"]

_B = r"(?<![A-Za-z0-9_\-])"  # no \b: keys are often glued to CJK text or quotes
_E = r"(?![A-Za-z0-9_\-])"
_RULES = [
    ("secret.openai", rf"{_B}sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{{20,}}{_E}"),
    ("secret.anthropic", rf"{_B}sk-ant-[A-Za-z0-9_\-]{{20,}}{_E}"),
    ("secret.aws_access_key", rf"{_B}(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{{16}}{_E}"),
    (
        "secret.aws_secret_key",
        r"(?i:aws_?secret_?access_?key|secret_?access_?key)[\s\"':=]{1,5}"
        r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])",
    ),
    ("secret.github", rf"{_B}(?:gh[pousr]_[A-Za-z0-9]{{36,}}|github_pat_[A-Za-z0-9_]{{22,}}){_E}"),
    ("secret.aliyun_access_key", rf"{_B}LTAI[A-Za-z0-9]{{12,30}}{_E}"),
    # Whatever follows a word that says it is a secret ("password: ...", "AccessKey Secret：")
    (
        "secret.after_cue",
        r"(?i:secret|password|passwd|pwd|passphrase|api[_\- ]?key|access[_\- ]?key|"
        r"auth[_\- ]?token|access[_\- ]?token|token)(?:[_\- ]?(?:id|key))?[\"']?[ \t]*[:=：][ \t]*"
        r"[\"']?(?P<value>[A-Za-z0-9/+_\-.=!@#$%^&*]{8,200})",
    ),
    ("secret.slack", rf"{_B}xox[abposr]-[A-Za-z0-9\-]{{10,}}{_E}"),
    ("secret.google_api", rf"{_B}AIza[0-9A-Za-z_\-]{{35}}{_E}"),
    ("secret.stripe", rf"{_B}(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{{16,}}{_E}"),
    (
        "secret.jwt",
        rf"{_B}eyJ[A-Za-z0-9_\-]{{8,}}\.eyJ[A-Za-z0-9_\-]{{8,}}\.[A-Za-z0-9_\-]{{8,}}{_E}",
    ),
    (
        "secret.private_key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]{16,8192}?"
        r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----",
    ),
]


def _group(pattern: str) -> int:
    # A rule with a named value reports only the value, not the word before it.
    return 1 if "(?P<value>" in pattern else 0


def secret_recognizers() -> list[RuleRecognizer]:
    return [
        RuleRecognizer(
            "privlog.secrets",
            [
                Rule(rule_id, "SECRET", re.compile(rx), fixed(0.95), group=_group(rx))
                for rule_id, rx in _RULES
            ],
        )
    ]
