"""Which parts of a request are user input: selectors over JSON bodies, forms, query strings.

Adapters hand over bytes and a content type; this module decides what is text to inspect.
Only selected fields are ever scrubbed and stored, so a field that no selector names (an API
key in the body, a model name, a temperature) never reaches a record.

Selectors are dotted paths; ``[]`` walks every element of a list::

    messages[].content              OpenAI/Anthropic message text given as a string
    messages[].content[].text       ... or as a list of typed parts
    messages[].tool_calls[].function.arguments

The field names in the result are the concrete paths (``messages[2].content[0].text``).
"""

from __future__ import annotations

import fnmatch
import json
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

__all__ = [
    "DEFAULT_SELECTORS",
    "Extracted",
    "ExtractionPolicy",
    "extract",
    "select",
]

DEFAULT_SELECTORS: tuple[str, ...] = (
    # OpenAI Chat Completions and Anthropic Messages
    "messages[].content",
    "messages[].content[].text",
    "messages[].tool_calls[].function.arguments",
    "messages[].content[].content",  # Anthropic tool_result blocks given as a string
    "system",
    "system[].text",
    # Completions, Embeddings, Responses
    "prompt",
    "prompt[]",
    "input",
    "input[]",
    "input[].content",
    "input[].content[].text",
    "instructions",
    # generic keys
    "query",
    "question",
    "text",
    "message",
)
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class ExtractionPolicy:
    """What counts as user input, per route.

    ``routes`` maps route patterns (``fnmatch`` globs such as ``/v1/*``) to their own
    selectors, which replace the defaults for matching routes. ``include``/``exclude`` decide
    which routes are inspected at all. ``query_params`` names query-string parameters to
    inspect (none by default: URLs are often logged elsewhere, and rarely carry prompts).
    """

    selectors: tuple[str, ...] = DEFAULT_SELECTORS
    routes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    query_params: tuple[str, ...] = ()
    form_fields: tuple[str, ...] | None = None  # None: every text field of a form

    def applies_to(self, route: str) -> bool:
        if any(fnmatch.fnmatchcase(route, p) for p in self.exclude):
            return False
        return any(fnmatch.fnmatchcase(route, p) for p in self.include)

    def selectors_for(self, route: str) -> tuple[str, ...]:
        for pattern, selectors in self.routes.items():
            if fnmatch.fnmatchcase(route, pattern):
                return selectors
        return self.selectors


@dataclass(frozen=True, slots=True)
class Extracted:
    """The text fields of one request, and what made the body hard to read."""

    fields: dict[str, str]
    flags: frozenset[str] = frozenset()


def _parse_selector(selector: str) -> list[tuple[str, bool]]:
    parts = []
    for segment in selector.split("."):
        iterate = segment.endswith("[]")
        parts.append((segment[:-2] if iterate else segment, iterate))
    return parts


def select(doc: Any, selector: str) -> Iterator[tuple[str, str]]:
    """Yield ``(path, text)`` for every string ``selector`` reaches in ``doc``."""
    stack: list[tuple[Any, str, list[tuple[str, bool]]]] = [(doc, "", _parse_selector(selector))]
    while stack:
        value, path, rest = stack.pop()
        if not rest:
            if isinstance(value, str):
                yield path, value
            continue
        (key, iterate), tail = rest[0], rest[1:]
        if not isinstance(value, dict) or key not in value:
            continue
        child, child_path = value[key], f"{path}.{key}" if path else key
        if iterate:
            if isinstance(child, list):
                for i in reversed(range(len(child))):
                    stack.append((child[i], f"{child_path}[{i}]", tail))
        else:
            stack.append((child, child_path, tail))


def _depth_ok(doc: Any) -> bool:
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return True


def _from_json(body: str, selectors: Sequence[str]) -> Extracted:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return Extracted({}, frozenset({"unparseable"}))
    if not _depth_ok(doc):
        return Extracted({}, frozenset({"unparseable"}))
    fields: dict[str, str] = {}
    for selector in selectors:
        for path, text in select(doc, selector):
            fields.setdefault(path, text)
    return Extracted(dict(sorted(fields.items())))


def _from_urlencoded(body: str, wanted: tuple[str, ...] | None) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(body, keep_blank_values=False):
        if wanted is None or key in wanted:
            fields[f"form.{key}"] = value
    return fields


def _from_multipart(body: bytes, content_type: str, wanted: tuple[str, ...] | None) -> Extracted:
    """Text fields and file *names* of a multipart form; file contents are never read."""
    try:
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
    except (ValueError, UnicodeEncodeError):
        return Extracted({}, frozenset({"unparseable"}))
    if not message.is_multipart():
        return Extracted({}, frozenset({"unparseable"}))
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        if not isinstance(name, str) or (wanted is not None and name not in wanted):
            continue
        if filename is not None:
            fields[f"form.{name}.filename"] = filename
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            charset = part.get_content_charset() or "utf-8"
            fields[f"form.{name}"] = payload.decode(charset, errors="replace")
    return Extracted(fields)


def extract(
    policy: ExtractionPolicy,
    *,
    route: str,
    content_type: str | None,
    body: bytes,
    query_string: str = "",
) -> Extracted:
    """The user-input text fields of one request (empty if the route is not inspected)."""
    if not policy.applies_to(route):
        return Extracted({})
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    fields: dict[str, str] = {}
    flags: set[str] = set()
    if body:
        if mime == "application/json" or mime.endswith("+json"):
            found = _from_json(body.decode("utf-8", errors="replace"), policy.selectors_for(route))
            fields.update(found.fields)
            flags |= found.flags
        elif mime == "application/x-www-form-urlencoded":
            text = body.decode("utf-8", errors="replace")
            fields.update(_from_urlencoded(text, policy.form_fields))
        elif mime == "multipart/form-data" and content_type:
            found = _from_multipart(body, content_type, policy.form_fields)
            fields.update(found.fields)
            flags |= found.flags
        elif mime.startswith("text/"):
            fields["body"] = body.decode("utf-8", errors="replace")
    if policy.query_params and query_string:
        for key, value in urllib.parse.parse_qsl(query_string):
            if key in policy.query_params:
                fields[f"query.{key}"] = value
    return Extracted(fields, frozenset(flags))
