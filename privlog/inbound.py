"""The framework-free half of the web adapters: read a request's input, decide, record.

Adapters translate their framework's request into these calls and nothing more; limits,
extraction, blocking and the record itself are decided here, once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from privlog.body import BodyCollector
from privlog.context import RequestContext
from privlog.core import Privlog, Scrubbing
from privlog.extract import extract
from privlog.flagged import Evidence
from privlog.identity import as_subject, identity_refusal_body, refusal_reason
from privlog.records import Outcome
from privlog.replies import ReplyGuard, content_refusal

__all__ = [
    "block_message",
    "blocked_types",
    "checks_before_app",
    "ensure_scrubbed",
    "expects_body",
    "finish",
    "identify",
    "identity_refusal",
    "internal_errors",
    "note_internal_error",
    "read_fields",
    "refusal",
    "reply_done",
    "reply_guard",
    "suppress_internal_errors",
    "unrecorded_refusal",
]

log = logging.getLogger("privlog")
T = TypeVar("T")
_errors_lock = threading.Lock()
_errors = [0]  # a cell, so the counter needs no global statement

_NAMES = {
    "CN_RESIDENT_ID": "resident identity card number",
    "CN_PASSPORT": "passport number",
    "CN_TRAVEL_PERMIT": "travel permit number",
    "CREDIT_CARD": "bank or credit card number",
    "PHONE_NUMBER": "phone number",
    "EMAIL_ADDRESS": "e-mail address",
    "PERSON": "personal name",
    "LOCATION": "address or place",
    "SECRET": "API key or secret",
    "IBAN_CODE": "IBAN",
    "US_SSN": "social security number",
}


def internal_errors() -> int:
    """How many internal errors the adapters caught (and logged by type) in this process."""
    return _errors[0]


@contextlib.contextmanager
def suppress_internal_errors(where: str) -> Iterator[None]:
    """Never let privlog break the host app: count, log the type (never the message, which
    could quote input), carry on."""
    try:
        yield
    except Exception as exc:
        note_internal_error(where, exc)


def note_internal_error(where: str, exc: BaseException) -> None:
    """Count and log (by type only) an internal error the caller recovers from."""
    with _errors_lock:
        _errors[0] += 1
    log.error("privlog: internal error in %s (%s); the request goes on", where, type(exc).__name__)


def identify(ctx: RequestContext, hook: Callable[[T], Any] | None, request: T) -> None:
    """Run the app's ``identify()`` hook for ``ctx``. A hook that raises or returns
    something that is not a subject leaves the subject unknown (logged by type only: the
    message could quote an identity document)."""
    if hook is None:
        return
    with suppress_internal_errors("identify"):
        ctx.subject = as_subject(hook(request))


def identity_refusal(privlog: Privlog, ctx: RequestContext) -> tuple[int, bytes] | None:
    """The 403 for a request the verified-identity gate refuses (before its body is read
    and before the app runs), or None."""
    policy = privlog.settings.policy.identity
    reason = refusal_reason(policy, ctx.route, ctx.subject)
    if reason is None:
        return None
    ctx.flags.add("identity_refused")
    return 403, identity_refusal_body(reason, policy)


def unrecorded_refusal(
    privlog: Privlog, hook: Callable[[T], Any] | None, request: T, route: str
) -> tuple[int, bytes] | None:
    """The verified-identity gate on a route privlog does not record (``[http] exclude``):
    the gate's routes are its own, so the same decision, with no record."""
    if not privlog.settings.policy.identity.required_for(route):
        return None
    ctx = RequestContext(route=route)
    identify(ctx, hook, request)
    return identity_refusal(privlog, ctx)


def expects_body(headers: Mapping[str, str]) -> bool:
    length = headers.get("content-length", "")
    return "transfer-encoding" in headers or (length.isdigit() and int(length) > 0)


def read_fields(
    privlog: Privlog,
    ctx: RequestContext,
    *,
    content_type: str | None,
    body: BodyCollector,
    query_string: str,
    body_expected: bool,
) -> None:
    """Extract the request's user-input fields into ``ctx`` (raw, in memory only)."""
    result = extract(
        privlog.settings.policy.http.extraction,
        route=ctx.route,
        content_type=content_type,
        body=body.body,
        query_string=query_string,
    )
    ctx.fields = result.fields
    ctx.flags |= result.flags | (body.flags - ({"partial"} if not body_expected else set()))


def blocked_types(privlog: Privlog, ctx: RequestContext) -> list[str]:
    """Scrub ``ctx``'s fields now and return the types the blocking policy refuses."""
    block_on = set(privlog.settings.policy.http.block_on)
    ctx.scrubbing = privlog.scrub_fields(ctx.fields or {})
    return sorted(block_on & set(ctx.scrubbing.entity_counts))


def checks_before_app(privlog: Privlog) -> bool:
    """Whether requests must be read and judged before the app runs (a blocking policy
    or content rules are configured)."""
    policy = privlog.settings.policy
    return bool(policy.http.block_on) or policy.content.rules_file is not None


def refusal(privlog: Privlog, ctx: RequestContext) -> tuple[int, bytes] | None:
    """Whether to refuse the request before the app runs, with the status and body: the
    content rules first (451), then the personal-data blocking policy (422). A content
    decision to flag lets the request through and is kept for its record."""
    if privlog.settings.policy.content.rules_file is not None:
        text = "\n".join((ctx.fields or {}).values())
        decision = privlog.check_content(text, "input")
        ctx.content = decision
        if decision.action != "allow":
            ctx.evidence.append(Evidence("input", decision, text))
        if decision.action == "block":
            return 451, content_refusal(decision, "request")
    if privlog.settings.policy.http.block_on:
        types = blocked_types(privlog, ctx)
        if types:
            return 422, block_message(types)
        scrubbing = ctx.scrubbing
        unchecked = scrubbing.flags & {"detector_error", "detector_timeout"} if scrubbing else set()
        if unchecked:
            # A blocking policy needs a verdict: without one the request is refused, or
            # padding a prompt past the deadline would carry blocked data through.
            return 503, unchecked_message(sorted(unchecked))
    return None


def reply_guard(
    privlog: Privlog, ctx: RequestContext, headers: Mapping[str, str], status: int | None
) -> ReplyGuard | None:
    """A content-rule guard for the reply about to be sent, or None (no rules, no body, or
    a reply privlog cannot read)."""
    guard = ReplyGuard.for_reply(privlog, ctx, headers, status=status)
    ctx.reply = guard
    return guard


def reply_done(ctx: RequestContext) -> None:
    """The reply is over (sent, cut or abandoned): keep its evidence for the register."""
    guard = ctx.reply
    if isinstance(guard, ReplyGuard):
        guard.close()
        evidence = guard.evidence()
        if evidence is not None:
            ctx.evidence.append(evidence)


def ensure_scrubbed(privlog: Privlog, ctx: RequestContext) -> Scrubbing:
    """Scrub the request's fields now if nothing has yet (the egress guard needs the
    placeholder map while the request runs); the record later reuses the result."""
    if ctx.scrubbing is None:
        if ctx.fields is None and ctx.loader is not None:
            ctx.loader()
        ctx.scrubbing = privlog.scrub_fields(ctx.fields or {})
    return ctx.scrubbing


def unchecked_message(flags: list[str]) -> bytes:
    """The 503 body when a blocking policy could not get a verdict."""
    why = "took too long" if "detector_timeout" in flags else "failed"
    return json.dumps(
        {
            "error": {
                "type": "request_not_checked",
                "message": f"This service checks requests for personal data before answering, "
                f"and the check {why}. Nothing was passed on. Send a shorter request, or try "
                "again later.",
            }
        }
    ).encode()


def block_message(types: list[str]) -> bytes:
    """The 422 body: what to remove, by kind, never the value."""
    kinds = ", ".join(_NAMES.get(t, t.lower().replace("_", " ")) for t in types)
    return json.dumps(
        {
            "error": {
                "type": "personal_data_refused",
                "message": f"This request contains personal data this service does not accept "
                f"({kinds}). Remove it and send the request again.",
                "entity_types": types,
            }
        }
    ).encode()


def finish(
    privlog: Privlog,
    ctx: RequestContext,
    *,
    status: int | None,
    outcome: Outcome = "logged",
) -> None:
    """Record the request once (a second adapter or a retry in the same context is a no-op).
    Detection is deferred to the writer unless it already ran inline."""
    if ctx.logged:
        return
    ctx.logged = True
    reply_done(ctx)
    privlog.log_input(
        ctx.fields or {},
        route=ctx.route,
        subject=ctx.subject,
        session=ctx.session,
        tenant=ctx.tenant,
        method=ctx.method,
        status=status,
        client_ip=ctx.client_ip,
        outcome=outcome,
        flags=ctx.flags,
        record_id=ctx.record_id,
        scrubbed=ctx.scrubbing,
        defer=ctx.scrubbing is None,
        egress=tuple(ctx.egress),
        content=ctx.content,
        output=ctx.reply.decision if isinstance(ctx.reply, ReplyGuard) else None,
        evidence=tuple(ctx.evidence),
    )
    ctx.evidence = []
    ctx.fields = None  # the raw text now lives only in the writer's queue, if at all
