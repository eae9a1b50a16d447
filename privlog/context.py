"""The per-request context: what adapters and the egress guard share about one request.

It lives in a ContextVar for the duration of the request, in memory only; its ``repr``
never shows the raw fields or ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from privlog.core import Scrubbing
    from privlog.identity import Subject

__all__ = ["RequestContext", "current_request"]


@dataclass(slots=True)
class RequestContext:
    """One inbound request: where it went, who sent it, and (once read) its input fields."""

    route: str
    method: str | None = None
    tenant: str | None = None
    subject: Subject | None = field(default=None, repr=False)
    session: str | None = field(default=None, repr=False)
    client_ip: str | None = field(default=None, repr=False)
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    fields: dict[str, str] | None = field(default=None, repr=False)
    flags: set[str] = field(default_factory=set)
    scrubbing: Scrubbing | None = field(default=None, repr=False)
    logged: bool = False
    # Reads the fields from what the app has received so far (the egress guard needs them
    # while the request is still running).
    loader: Callable[[], None] | None = field(default=None, repr=False)
    egress: list[dict[str, Any]] = field(default_factory=list)
    content: Any = field(default=None, repr=False)  # the content-rule decision on the input
    reply: Any = field(default=None, repr=False)  # the ReplyGuard checking the reply, if any
    # Matched content (raw, in memory) for the flagged-content register; see privlog.flagged.
    evidence: list[Any] = field(default_factory=list, repr=False)


current_request: ContextVar[RequestContext | None] = ContextVar(
    "privlog_current_request", default=None
)
