"""Who sent a request, as far as privlog may know it: an id, whether it was verified, how.

The app's ``identify()`` hook returns a :class:`Subject` (or a plain id string, whose
verification is not reported, or ``None``). privlog keeps only the keyed token of the id,
``verified`` and the method: a method holds no digits, so a document or phone number cannot
ride in it, a method outside :data:`KNOWN_METHODS` and the policy's is kept as "other", so a
name cannot either, and a Subject has no room for anything else.

The verified-identity gate (``[identity] require_verified_identity``) refuses, with 403 and
before the app runs, requests on the listed routes whose subject is unknown, unverified or
verified by a method the policy does not accept.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Any

from privlog.errors import InvalidSubject

__all__ = [
    "KNOWN_METHODS",
    "IdentityPolicy",
    "Subject",
    "as_subject",
    "identity_refusal_body",
    "refusal_reason",
]

MAX_ID = 512
# Methods a record may name as they are; any other method a hook reports is stored as
# "other" (a name-shaped string could still be a person's name). A policy's
# accepted_methods are added to these.
KNOWN_METHODS = frozenset(
    {
        "mobile", "sms", "id_card", "passport", "travel_permit", "residence_permit",
        "bank_card", "face", "eid", "video", "in_person", "third_party", "other",
    }
)  # fmt: skip
# A method is a name ("mobile", "id_card", "bank-card", "eid.face"), never a value.
_METHOD = re.compile(r"[a-z][a-z_.-]{0,31}")


@dataclass(frozen=True, slots=True)
class Subject:
    """The user behind a request. ``id`` is the app's own user id (stored only as a keyed
    token); ``verified`` says whether they passed real-identity verification (None: the
    app does not say), ``method`` how (a lower-case name without digits, such as
    ``"mobile"`` or ``"id_card"``)."""

    id: str = field(repr=False)
    verified: bool | None = None
    method: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id or len(self.id) > MAX_ID:
            raise InvalidSubject(f"Subject.id must be the app's user id, 1 to {MAX_ID} characters")
        if self.verified is not None and not isinstance(self.verified, bool):
            raise InvalidSubject("Subject.verified must be True, False or None (not reported)")
        if self.method is not None and (
            not isinstance(self.method, str) or not _METHOD.fullmatch(self.method)
        ):
            raise InvalidSubject(
                "Subject.method must name the verification method (lower-case letters, '_', "
                "'-' or '.', at most 32, no digits), such as 'mobile' or 'id_card'; never a "
                "number or other value from the verification"
            )
        if self.method is not None and self.verified is not True:
            raise InvalidSubject("Subject.method is given only for a verified subject")


def as_subject(value: Any) -> Subject | None:
    """What an ``identify()`` hook returned, as a Subject: a string is an id whose
    verification is not reported, an empty string or ``None`` no subject."""
    if value is None or value == "":
        return None
    if isinstance(value, Subject):
        return value
    if isinstance(value, str):
        return Subject(value)
    raise InvalidSubject(
        f"identify() must return a privlog.Subject, a user id string or None, not "
        f"{type(value).__name__}"
    )


@dataclass(frozen=True)
class IdentityPolicy:
    """``[identity]``: the routes that need a verified subject, and the methods accepted
    there (empty: any)."""

    require_verified_identity: tuple[str, ...] = ()
    accepted_methods: tuple[str, ...] = ()

    def required_for(self, route: str) -> bool:
        return any(fnmatch.fnmatchcase(route, p) for p in self.require_verified_identity)

    def stored_method(self, method: str | None) -> str | None:
        """What a record keeps of ``method``: a known or accepted method's name, else
        "other"."""
        if method is None or method in KNOWN_METHODS or method in self.accepted_methods:
            return method
        return "other"


def refusal_reason(policy: IdentityPolicy, route: str, subject: Subject | None) -> str | None:
    """Why the gate refuses ``subject`` on ``route``, or None if it lets it through."""
    if not policy.required_for(route):
        return None
    if subject is None:
        return "unknown_subject"
    if subject.verified is not True:
        return "unverified"
    if policy.accepted_methods and subject.method not in policy.accepted_methods:
        return "method_not_accepted"
    return None


_MESSAGES = {
    "unknown_subject": "This service requires users to sign in and pass real-identity "
    "verification before use. Sign in, verify your identity, and send the request again.",
    "unverified": "This service requires real-identity verification before use. Verify your "
    "identity, then send the request again.",
    "method_not_accepted": "This service does not accept the way your identity was verified. "
    "Verify your identity with one of the accepted methods, then send the request again.",
}


def identity_refusal_body(reason: str, policy: IdentityPolicy) -> bytes:
    """The 403 body: what is needed, never who the user is."""
    error: dict[str, Any] = {
        "type": "identity_verification_required",
        "reason": reason,
        "message": _MESSAGES[reason],
    }
    if reason == "method_not_accepted":
        error["accepted_methods"] = list(policy.accepted_methods)
    return json.dumps({"error": error}).encode()
