"""The egress guard, framework-free: where outbound HTTP may go, and what it may carry.

Destinations are allow-listed. ``first_party`` hosts receive requests as they are; a
``processor`` (a third party such as a model vendor) receives only scrubbed content, or
nothing at all if its action is ``block`` and anything identifying is present; every other
host is refused with :class:`EgressBlocked`. Adapters for httpx and requests call
:meth:`EgressGuard.check` with the outgoing request and send what it returns.

What is scrubbed: JSON string values (keys too), form fields, plain-text bodies, the query
string, and configured headers. Values detected in the current inbound request ("taint")
are replaced wherever they appear verbatim, even where the detector would not see them in
the new context; the outbound text is then scanned by the detector itself. Detection
failing refuses the call: nothing is ever sent raw.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import json
import re
import threading
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from privlog.context import current_request
from privlog.detect.turns import DetectionTimeout, deadline
from privlog.errors import ConfigError, EgressBlocked
from privlog.transform import PLACEHOLDER_RE, Scope

if TYPE_CHECKING:
    from privlog.core import Privlog

__all__ = [
    "EgressBlocked",
    "EgressDecision",
    "EgressGuard",
    "EgressPolicy",
    "Processor",
    "Restorer",
    "SseRestorer",
    "install_egress_guard",
    "restorer_for",
]

Action = Literal["scrub", "block"]
# Detection for outbound calls runs here so that a deadline can be enforced: a call whose
# detection overruns is refused (the detection finishes in the background, its result unused).
_EXECUTOR = concurrent.futures.ThreadPoolExecutor(
    max_workers=4, thread_name_prefix="privlog-egress"
)


@dataclass(frozen=True, slots=True)
class Processor:
    """A third party that may receive scrubbed input."""

    name: str
    hosts: tuple[str, ...]
    action: Action = "scrub"
    restore: bool = False
    region: str | None = None
    agreement: str | None = None
    allow_binary: bool = False


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    first_party: tuple[str, ...] = ()
    processors: tuple[Processor, ...] = ()
    scan_headers: tuple[str, ...] = ()
    detection_deadline: float = 5.0  # seconds; past it the call is refused

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "policy") -> EgressPolicy:
        where = f"{source}: [egress]"
        known = {"first_party", "processors", "scan_headers", "detection_deadline"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        processors = []
        for i, raw in enumerate(data.get("processors", [])):
            processors.append(_processor(raw, f"{where} processors[{i}]"))
        deadline = data.get("detection_deadline", 5.0)
        if not isinstance(deadline, int | float) or isinstance(deadline, bool) or deadline <= 0:
            raise ConfigError(f"{where}: detection_deadline must be a positive number of seconds")
        return cls(
            detection_deadline=float(deadline),
            first_party=tuple(h.lower() for h in _strings(data.get("first_party", []), where)),
            processors=tuple(processors),
            scan_headers=tuple(h.lower() for h in _strings(data.get("scan_headers", []), where)),
        )


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of non-empty strings")
    return value


def _processor(raw: Any, where: str) -> Processor:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table")
    allowed = {"name", "hosts", "action", "restore", "region", "agreement", "allow_binary"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    if not isinstance(raw.get("name"), str) or not raw["name"]:
        raise ConfigError(f"{where}: name is required")
    action = raw.get("action", "scrub")
    if action not in ("scrub", "block"):
        raise ConfigError(f'{where}: action must be "scrub" or "block"')
    for key in ("restore", "allow_binary"):
        if not isinstance(raw.get(key, False), bool):
            raise ConfigError(f"{where}: {key} must be true or false")
    return Processor(
        name=raw["name"],
        hosts=tuple(h.lower() for h in _strings(raw.get("hosts", []), where)),
        action=action,
        restore=raw.get("restore", False),
        region=raw.get("region"),
        agreement=raw.get("agreement"),
        allow_binary=raw.get("allow_binary", False),
    )


def _matches(host: str, port: int | None, patterns: Sequence[str]) -> bool:
    names = {host, f"{host}:{port}"} if port else {host}
    return any(p in names for p in patterns)


@dataclass(slots=True)
class EgressDecision:
    """What to send: possibly rewritten body, URL and headers, and how to treat the reply."""

    destination: str
    action: Literal["first_party", "scrub"]
    body: bytes
    url: str
    headers: dict[str, str]
    entity_counts: dict[str, int] = field(default_factory=dict)
    restore: dict[str, str] | None = None  # placeholder -> original, in memory only

    def __repr__(self) -> str:
        return f"EgressDecision(destination={self.destination!r}, action={self.action!r})"


class EgressGuard:
    """Decides each outbound call. One per Privlog; thread-safe."""

    def __init__(self, privlog: Privlog) -> None:
        self.privlog = privlog
        self.policy = EgressPolicy.from_mapping(privlog.settings.policy.egress)
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def _count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def check(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> EgressDecision:
        """Allow, rewrite or refuse one outbound request (raises :class:`EgressBlocked`)."""
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").lower()
        shown = f"{host}:{parts.port}" if parts.port else host
        if _matches(host, parts.port, self.policy.first_party):
            self._count("egress_first_party")
            return EgressDecision(shown, "first_party", body, url, dict(headers))
        processor = next(
            (p for p in self.policy.processors if _matches(host, parts.port, p.hosts)), None
        )
        if processor is None:
            self._refuse(shown, None, "blocked_unknown_host")
            raise EgressBlocked(
                shown,
                "it is neither first party nor a processor; add it to egress.first_party or "
                "to an [[egress.processors]] entry's hosts in the privlog policy file",
            )
        context = contextvars.copy_context()  # taint needs the request context in the worker
        # The worker's detection stops at the deadline too (at its next step), so that the
        # scan this call stops waiting for does not hold the detector from the calls after it.
        future = _EXECUTOR.submit(
            context.run,
            _within,
            self.policy.detection_deadline,
            functools.partial(self._scrub, processor, shown, url, headers, body),
        )
        try:
            decision = future.result(timeout=self.policy.detection_deadline)
        except EgressBlocked:
            raise
        except (concurrent.futures.TimeoutError, DetectionTimeout):
            self._refuse(shown, processor, "blocked_deadline")
            raise EgressBlocked(
                shown,
                f"detection took longer than {self.policy.detection_deadline:g} s "
                "(egress.detection_deadline); nothing was sent",
            ) from None
        except Exception as exc:  # fail closed: never send raw
            self._refuse(shown, processor, "blocked_detector_error")
            raise EgressBlocked(
                shown, f"detection failed ({type(exc).__name__}); nothing was sent"
            ) from None
        if processor.action == "block" and decision.entity_counts:
            self._refuse(shown, processor, "blocked_policy", decision.entity_counts)
            kinds = ", ".join(sorted(decision.entity_counts))
            raise EgressBlocked(
                shown,
                f"the request carries personal data ({kinds}) and processor "
                f'{processor.name!r} has action = "block"',
            )
        self._count("egress_scrubbed")
        self._note(shown, processor, "scrub", decision.entity_counts)
        return decision

    def _refuse(
        self,
        shown: str,
        processor: Processor | None,
        counter: str,
        counts: Mapping[str, int] | None = None,
    ) -> None:
        self._count(counter)
        self._note(shown, processor, "blocked", counts or {})

    def _note(
        self, shown: str, processor: Processor | None, action: str, counts: Mapping[str, int]
    ) -> None:
        ctx = current_request.get()
        if ctx is not None:
            ctx.egress.append(
                {
                    "destination": shown,
                    "processor": processor.name if processor else None,
                    "action": action,
                    "entity_counts": dict(counts),
                }
            )

    def _scrub(
        self,
        processor: Processor,
        shown: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> EgressDecision:
        scope, taint = self._taint()
        texts: list[str] = []  # everything that will be scanned, in order
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        kind = _body_kind(content_type, body)
        if kind == "binary" and not processor.allow_binary:
            self._refuse(shown, processor, "blocked_binary")
            raise EgressBlocked(
                shown,
                "binary or multipart bodies to a processor are refused; set allow_binary = true "
                f"on processor {processor.name!r} if that is intended",
            )
        doc: Any = None
        if kind == "json":
            doc = json.loads(body)
            texts.extend(_json_strings(doc))
        elif kind == "form":
            pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            texts.extend(v for pair in pairs for v in pair)
        elif kind == "text":
            texts.append(body.decode("utf-8", "replace"))
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        texts.extend(v for pair in query for v in pair)
        scanned = {k: v for k, v in headers.items() if k.lower() in self.policy.scan_headers}
        texts.extend(scanned.values())

        clean = self._clean(texts, scope, taint)
        counts: Counter[str] = Counter()
        for _, found in clean.values():
            counts.update(found)
        mapping = {text: new for text, (new, _) in clean.items()}
        new_body = body
        if kind == "json":
            new_body = json.dumps(_json_map(doc, mapping), ensure_ascii=False).encode()
        elif kind == "form":
            new_body = urllib.parse.urlencode(
                [(mapping.get(k, k), mapping.get(v, v)) for k, v in pairs]
            ).encode()
        elif kind == "text":
            new_body = mapping[texts[0]].encode()
        new_query = urllib.parse.urlencode(
            [(mapping.get(k, k), mapping.get(v, v)) for k, v in query]
        )
        new_url = urllib.parse.urlunsplit(parts._replace(query=new_query)) if query else url
        new_headers = {k: mapping.get(v, v) if k in scanned else v for k, v in headers.items()}
        if new_body != body:
            new_headers = {k: v for k, v in new_headers.items() if k.lower() != "content-length"}
        restore = dict(scope.originals) if processor.restore else None
        return EgressDecision(shown, "scrub", new_body, new_url, new_headers, dict(counts), restore)

    def _taint(self) -> tuple[Scope, list[tuple[str, str]]]:
        """The current request's scope (so a value keeps its placeholder) and its detected
        values, longest first, as (value, placeholder)."""
        from privlog import inbound

        ctx = current_request.get()
        if ctx is None:
            return self.privlog.pipeline.transformer.scope(), []
        scrubbing = inbound.ensure_scrubbed(self.privlog, ctx)
        if scrubbing.fields is None:  # detection failed on the inbound request
            raise RuntimeError("detection of the inbound request failed")
        scope = scrubbing.scope
        pairs = [(value, token) for token, value in scope.originals.items() if value.strip()]
        return scope, sorted(pairs, key=lambda p: -len(p[0]))

    def _clean(
        self, texts: list[str], scope: Scope, taint: list[tuple[str, str]]
    ) -> dict[str, tuple[str, Counter[str]]]:
        unique = list(dict.fromkeys(t for t in texts if t))
        tokens = dict(taint)
        # One pass, longest value first, never inside a placeholder: a replacement is never
        # rescanned, so "IBAN" cannot land inside "<IBAN_CODE_1>".
        pattern = (
            re.compile(f"{PLACEHOLDER_RE.pattern}|" + "|".join(re.escape(v) for v, _ in taint))
            if taint
            else None
        )
        tainted: list[tuple[str, Counter[str]]] = []
        for text in unique:
            counts: Counter[str] = Counter()

            def swap(match: re.Match[str], counts: Counter[str] = counts) -> str:
                token = tokens.get(match.group())
                if token is None:  # an existing placeholder
                    return match.group()
                counts[_type_of(token)] += 1
                return token

            tainted.append((pattern.sub(swap, text) if pattern else text, counts))
        results = self.privlog.pipeline.scrub_many([t for t, _ in tainted], scope)
        out: dict[str, tuple[str, Counter[str]]] = {}
        for original, (_, counts), result in zip(unique, tainted, results, strict=True):
            counts.update(r.entity_type for r in result.replacements)
            out[original] = (result.text, counts)
        return out


def _type_of(token: str) -> str:
    return token[1:].split(":", 1)[0].rsplit("_", 1)[0]


def _body_kind(content_type: str, body: bytes) -> str:
    if not body:
        return "empty"
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/json" or mime.endswith("+json"):
        return "json"
    if mime == "application/x-www-form-urlencoded":
        return "form"
    if mime.startswith("text/"):
        return "text"
    if not mime:
        try:
            json.loads(body)
        except ValueError:
            pass
        else:
            return "json"
    return "binary"


def _json_strings(doc: Any) -> Iterator[str]:
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for k, v in value.items():
                yield k
                stack.append(v)
        elif isinstance(value, list):
            stack.extend(value)


def _json_map(doc: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(doc, str):
        return mapping.get(doc, doc)
    if isinstance(doc, dict):
        return {mapping.get(k, k): _json_map(v, mapping) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_json_map(v, mapping) for v in doc]
    return doc


class Restorer:
    """Puts original values back into a reply, chunk by chunk, for the user (opt-in).

    A placeholder may be split across chunks at any offset: the tail that could still be the
    start of a placeholder is held back until the next chunk (or the end) decides it.
    """

    _MAX = 80  # longer than any privlog placeholder

    def __init__(self, originals: Mapping[str, str]) -> None:
        self._originals = dict(originals)
        self._pending = ""

    def __repr__(self) -> str:
        return f"Restorer(placeholders={len(self._originals)})"

    def _swap(self, text: str) -> str:
        return PLACEHOLDER_RE.sub(lambda m: self._originals.get(m.group(), m.group()), text)

    def feed(self, chunk: str) -> str:
        text = self._pending + chunk
        cut = text.rfind("<")
        if cut != -1 and ">" not in text[cut:] and len(text) - cut < self._MAX:
            self._pending, text = text[cut:], text[:cut]
        else:
            self._pending = ""
        return self._swap(text)

    def finish(self) -> str:
        text, self._pending = self._pending, ""
        return self._swap(text)


def install_egress_guard(privlog: Privlog | None = None) -> None:
    """Opt in, process-wide: every ``httpx.Client``/``AsyncClient`` and ``requests.Session``
    created from now on is guarded (for SDKs that build their own clients)."""
    import importlib

    # adapters/ is mapped into the privlog namespace at install time; resolved at run time.
    importlib.import_module("privlog.adapters.install").install(privlog)


class SseRestorer:
    """Restores placeholders in a server-sent-events stream whose ``data:`` lines are JSON,
    even when a placeholder is split across *events* (an LLM streams it token by token).

    Each string field (by its JSON path, e.g. ``choices[0].delta.content``) keeps its own
    held-back tail; the tail is released in the next event at the same path, or, before
    ``[DONE]`` or at the end, in one extra event shaped like the last one.
    """

    def __init__(self, originals: Mapping[str, str]) -> None:
        self._originals = dict(originals)
        self._buffer = ""
        self._pending: dict[str, str] = {}
        self._last: Any = None

    def __repr__(self) -> str:
        return f"SseRestorer(placeholders={len(self._originals)})"

    def feed(self, chunk: str) -> str:
        self._buffer += chunk.replace("\r\n", "\n")
        out = []
        while "\n\n" in self._buffer:
            event, self._buffer = self._buffer.split("\n\n", 1)
            out.append(self._event(event) + "\n\n")
        return "".join(out)

    def finish(self) -> str:
        rest, self._buffer = self._buffer, ""
        text = self._event(rest) if rest.strip() else rest
        return self._release() + text

    def _swap(self, text: str) -> str:
        return PLACEHOLDER_RE.sub(lambda m: self._originals.get(m.group(), m.group()), text)

    def _event(self, event: str) -> str:
        lines = event.split("\n")
        data = [line[5:].lstrip() for line in lines if line.startswith("data:")]
        payload = "\n".join(data)
        if payload.strip() == "[DONE]":
            return self._release() + event
        try:
            doc = json.loads(payload) if data else None
        except ValueError:
            return self._swap(event)
        if doc is None:
            return event
        doc = self._walk(doc, "")
        self._last = doc
        other = [line for line in lines if not line.startswith("data:")]
        return "\n".join([*other, f"data: {json.dumps(doc, ensure_ascii=False)}"])

    def _walk(self, value: Any, path: str) -> Any:
        if isinstance(value, str):
            text = self._pending.pop(path, "") + value
            cut = text.rfind("<")
            if cut != -1 and ">" not in text[cut:] and len(text) - cut < Restorer._MAX:
                self._pending[path], text = text[cut:], text[:cut]
            return self._swap(text)
        if isinstance(value, dict):
            return {k: self._walk(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    def _release(self) -> str:
        if not self._pending or self._last is None:
            return ""
        pending, self._pending = self._pending, {}

        def fill(value: Any, path: str) -> Any:
            if isinstance(value, str):
                return self._swap(pending[path]) if path in pending else ""
            if isinstance(value, dict):
                return {k: fill(v, f"{path}.{k}") for k, v in value.items()}
            if isinstance(value, list):
                return [fill(v, f"{path}[{i}]") for i, v in enumerate(value)]
            return value

        return f"data: {json.dumps(fill(self._last, ''), ensure_ascii=False)}\n\n"


def restorer_for(content_type: str, originals: Mapping[str, str]) -> Restorer | SseRestorer:
    """The right restorer for a reply: event-aware for SSE, JSON-escaping for JSON."""
    kind = content_type.lower()
    if "event-stream" in kind:
        return SseRestorer(originals)
    if "json" in kind:
        # the values land inside JSON strings: escape them as JSON would
        return Restorer({k: json.dumps(v, ensure_ascii=False)[1:-1] for k, v in originals.items()})
    return Restorer(originals)


def _within(seconds: float, work: Callable[[], EgressDecision]) -> EgressDecision:
    with deadline(seconds):
        return work()
