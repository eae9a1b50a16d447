"""Content rules on the reply: plain replies checked whole, streams checked as they go.

A :class:`ReplyGuard` sees the reply's bytes before the client does. A plain reply (a JSON
body, or any body whose length is declared and within ``max_inspect_bytes``) is held
until complete and checked whole: if a rule blocks it, the client gets a 451 instead and
none of the reply. A stream (server-sent events, NDJSON, chunked text) is released piece
by piece, but the newest ``output_window`` characters are always held back (counted as
the rules see text: normalised, white space collapsed, so padding cannot stretch a match
past the window), so a keyword match that spans pieces is found before any part of it
leaves, as is a pattern match of up to ``output_window`` characters; a block cuts the
stream there (an SSE stream ends with a ``privlog.blocked`` event, NDJSON with an error
line). A JSON reply larger than ``max_inspect_bytes`` is read as a stream of unescaped
text.

Text is taken from what a model's reply carries: the data of each SSE event and each
NDJSON line, and from JSON the strings held under content keys (``content``, ``text``,
``delta``...; not ids, roles or model names), falling back to every string. Replies in
other media types (images, archives) and compressed replies are not inspected.

The guard also signs the reply as it grows (:mod:`privlog.similarity`) and compares it
with the flagged outputs in the register: a regenerated copy is flagged or blocked like a
rule match and linked to the entry it copies. The signature of a cut stream covers what
was generated up to the cut: after a cut both adapters stop the app's stream (so the model
stops too).
"""

from __future__ import annotations

import bisect
import codecs
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from privlog.context import RequestContext
from privlog.flagged import NEAR_DUPLICATE_RULE, SNIPPET_CONTEXT, Evidence, NearCopy, snippet
from privlog.safety import ContentDecision, Hit, RuleSet, folded_offsets
from privlog.similarity import RunningSignature, Signature

if TYPE_CHECKING:
    from privlog.core import Privlog

__all__ = ["ReplyGuard", "content_refusal", "reply_kind"]

Kind = Literal["sse", "ndjson", "json", "text"]
_CONTENT_KEYS = frozenset(
    {
        "content",
        "text",
        "delta",
        "response",
        "output_text",
        "completion",
        "answer",
        "message",
        "reasoning_content",
        "token",
    }
)
_SSE_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_KEEP_TEXT = 100_000  # characters kept for the register's fingerprint
_COMPARE_EVERY = 32  # characters of new text between comparisons with flagged outputs


def reply_kind(content_type: str | None) -> Kind | None:
    """How to read a reply of this media type, or None to leave it alone."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "text/event-stream":
        return "sse"
    if media in ("application/x-ndjson", "application/jsonl", "application/jsonlines"):
        return "ndjson"
    if media == "application/json" or media.endswith("+json"):
        return "json"
    if media.startswith("text/") or media in ("", "application/xml", "application/xhtml+xml"):
        return "text"
    return None


def json_text(value: Any, *, joiner: str = "") -> str:
    """The strings whose nearest key is a content key, in order; every string if none."""
    found: list[str] = []
    _strings(value, found, key=None, every=False)
    if found:
        return joiner.join(found)
    _strings(value, found, key=None, every=True)
    return " ".join(found)


def _strings(value: Any, out: list[str], *, key: str | None, every: bool) -> None:
    if isinstance(value, str):
        if every or key in _CONTENT_KEYS:
            out.append(value)
    elif isinstance(value, Mapping):
        for name, item in value.items():
            _strings(item, out, key=str(name), every=every)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out, key=key, every=every)


def _sse_text(event: bytes) -> str:
    data = [
        line[5:].removeprefix(" ")
        for line in event.decode("utf-8", "replace").splitlines()
        if line.startswith("data:")
    ]
    payload = "\n".join(data)
    if not payload or payload.strip() == "[DONE]":
        return ""
    return _maybe_json(payload)


def _maybe_json(payload: str) -> str:
    stripped = payload.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json_text(json.loads(stripped))
        except ValueError:
            pass
    return payload


def content_refusal(decision: ContentDecision, what: str = "reply") -> bytes:
    """The error body for a refused request or reply: the categories, never the text."""
    return json.dumps(
        {
            "error": {
                "type": "content_refused",
                "message": f"This {what} was refused under the service's content rules "
                f"({', '.join(decision.categories)}).",
                "categories": decision.categories,
                "ruleset_version": decision.ruleset_version,
            }
        }
    ).encode()


@dataclass(slots=True)
class _Piece:
    raw: bytes
    start: int  # where this piece's text begins in the reply's text
    end: int


class _JsonUnescape:
    """JSON string escapes decoded as a JSON body streams (a large JSON reply is read as
    text, and ``\\u5047`` must match like the character it stands for)."""

    def __init__(self) -> None:
        self._carry = ""

    def __call__(self, text: str, final: bool = False) -> str:
        text = self._carry + text
        self._carry = ""
        cut = text.rfind("\\", max(0, len(text) - 12))
        if cut >= 0 and not final:
            text, self._carry = text[:cut], text[cut:]
        out = _ESCAPE.sub(_unescape, text)
        return out.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def _unescape(found: re.Match[str]) -> str:
    code = found.group(1)
    if len(code) == 5:
        return chr(int(code[1:], 16))
    return _SIMPLE.get(code, code)


class ReplyGuard:
    """One reply's check. Feed it the body as the app sends it; send what it returns."""

    def __init__(self, privlog: Privlog, kind: Kind, *, whole: bool) -> None:
        rules = privlog.content_rules
        if rules is None:
            raise ValueError("a reply guard needs content rules")
        policy = privlog.settings.policy
        self.kind = kind
        self.whole = whole
        self._ruleset: RuleSet = rules.ruleset  # one version for the whole reply
        self._max_whole = policy.http.max_inspect_bytes
        # Counted in normalised characters (white space collapsed, format characters
        # dropped), the form the rules match: padding cannot stretch a match past it.
        self._hold = max(policy.content.output_window, 2 * self._ruleset.longest_keyword)
        self._threshold = policy.content.near_duplicate
        self._near_action: Literal["flag", "block"] = policy.content.near_duplicate_action
        self._index = privlog.flagged_index if self._threshold > 0 else None
        self._signing: dict[str, RunningSignature] = (
            {kid: self._index.hasher(kid).running() for kid in self._index.kids()}
            if self._index is not None
            else {}
        )
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._unescape = _JsonUnescape()
        self._buffer = bytearray()
        self._pending: list[_Piece] = []
        self._text = ""  # the reply's text from offset self._base on
        self._base = 0
        self._length = 0
        self._signed = 0
        self._compared = 0
        self._kept: list[str] = []  # the first _KEEP_TEXT characters, for the fingerprint
        self._kept_chars = 0
        self._hits: dict[str, Hit] = {}
        self._snippets: dict[str, str] = {}
        self._near: NearCopy | None = None
        self.blocked = False
        self.released = False
        self.finished = False
        # Whether a reply blocked before any of it left can still be swapped for a 451
        # (not once a server has sent the status line: then the stream is cut instead).
        self.replaceable = True

    @classmethod
    def for_reply(
        cls,
        privlog: Privlog,
        ctx: RequestContext,
        headers: Mapping[str, str],
        *,
        status: int | None = None,
    ) -> ReplyGuard | None:
        """A guard for a reply with these (lower-cased) headers, or None when no content
        rules are configured, the reply has no body (HEAD, 1xx, 204, 304) or is not text
        privlog can read."""
        if privlog.settings.policy.content.rules_file is None:
            return None
        if (
            (ctx.method or "").upper() == "HEAD"
            or status in (204, 304)
            or 100 <= (status or 200) < 200
        ):
            return None
        if headers.get("content-encoding", "identity").strip().lower() != "identity":
            return None
        kind = reply_kind(headers.get("content-type"))
        if kind is None:
            return None
        length = headers.get("content-length", "")
        declared = (
            length.isdigit() and int(length) <= privlog.settings.policy.http.max_inspect_bytes
        )
        return cls(privlog, kind, whole=kind == "json" or declared)

    # --- feeding -------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> bytes:
        """Take the next piece of the body; return the bytes that may be sent now."""
        if self.finished:
            return b""
        if self.whole:
            self._buffer += chunk
            if len(self._buffer) > self._max_whole:
                self._stream_instead()
                return self._step(final=False)
            return b""
        self._split(chunk, final=False)
        return self._step(final=False)

    def end(self) -> bytes:
        """The body is complete: return the rest (or, after a block, the stream's end)."""
        if self.finished:
            return b""
        if self.whole:
            body = bytes(self._buffer)
            self._buffer.clear()
            if self.kind == "json":
                try:
                    self._add(body, json_text(json.loads(body), joiner="\n"))
                except (ValueError, RecursionError):
                    self._add(body, self._unescape(body.decode("utf-8", "replace"), True))
            else:
                self._split(body, final=True)
        else:
            self._split(b"", final=True)
        out = self._step(final=True)
        self.finished = True
        return out

    def close(self) -> None:
        """The app stopped sending (an error, a disconnect): keep what was found."""
        self.finished = True

    def unreleased(self) -> bytes:
        """Everything taken and not yet released (to send unchecked if the guard fails)."""
        return b"".join(p.raw for p in self._pending) + bytes(self._buffer)

    def _stream_instead(self) -> None:
        """A whole body outgrew the cap: read on as a stream (JSON as unescaped text)."""
        self.whole = False
        body = bytes(self._buffer)
        self._buffer.clear()
        self._split(body, final=False)

    def _split(self, chunk: bytes, *, final: bool) -> None:
        if self.kind in ("text", "json"):
            text = self._decoder.decode(chunk, final)
            if self.kind == "json":
                text = self._unescape(text, final)
            self._add(chunk, text)
            return
        self._buffer += chunk
        while True:
            if self.kind == "sse":
                found = _SSE_END.search(self._buffer)
                if found is None:
                    break
                raw = bytes(self._buffer[: found.end()])
                del self._buffer[: found.end()]
                self._add(raw, _sse_text(raw))
            else:
                cut = self._buffer.find(b"\n")
                if cut < 0:
                    break
                raw = bytes(self._buffer[: cut + 1])
                del self._buffer[: cut + 1]
                self._add(raw, _maybe_json(raw.decode("utf-8", "replace")) if raw.strip() else "")
        if final and self._buffer:
            raw = bytes(self._buffer)
            self._buffer.clear()
            text = raw.decode("utf-8", "replace")
            self._add(raw, _sse_text(raw) if self.kind == "sse" else _maybe_json(text))

    def _add(self, raw: bytes, text: str) -> None:
        self._text += text
        self._length += len(text)
        self._pending.append(_Piece(raw, self._length - len(text), self._length))
        if self._kept_chars < _KEEP_TEXT and text:
            piece = text[: _KEEP_TEXT - self._kept_chars]
            self._kept.append(piece)
            self._kept_chars += len(piece)

    # --- deciding ------------------------------------------------------------------------

    def _step(self, *, final: bool) -> bytes:
        if self.blocked:
            return b""
        if self._check(final):
            self._pending.clear()
            self.finished = True
            return self._cut() if self.released or not self.replaceable else b""
        out = bytearray()
        if final:
            out += b"".join(p.raw for p in self._pending)
            self._pending.clear()
        else:
            for _ in range(self._releasable()):
                out += self._pending.pop(0).raw
        if out:
            self.released = True
        self._trim()
        return bytes(out)

    def _window_start(self) -> int:
        return self._pending[0].start if self._pending else self._length

    def _releasable(self) -> int:
        """How many leading pieces have ``hold`` normalised characters after them. A
        piece that does not is held, unless the held text outgrows the inspection cap."""
        start = self._window_start()
        positions = folded_offsets(self._text[start - self._base :])
        n = 0
        for piece in self._pending:
            after = len(positions) - bisect.bisect_left(positions, piece.end - start)
            if after < self._hold and self._length - piece.end < self._max_whole:
                break
            n += 1
        return n

    def _check(self, final: bool) -> bool:
        """Check the unreleased text (it holds any match that reaches the new text);
        return whether to block."""
        start = self._window_start()
        window = self._text[start - self._base :]
        if window:
            for hit in self._ruleset.check(window, "output").hits:
                if hit.rule_id not in self._hits:
                    span = (start + hit.span[0], start + hit.span[1])
                    self._hits[hit.rule_id] = Hit(hit.rule_id, hit.category, hit.action, span)
                    self._snippets[hit.rule_id] = snippet(window, *hit.span)
        signatures = self._sign(final)
        if signatures and self._index is not None and self._near is None:
            near = self._index.nearest(signatures)
            if near is not None and near.similarity >= self._threshold:
                self._near = near
                # A copy of a blocked output gets the configured action; a copy of one
                # that was only flagged is flagged again (no stricter than the original).
                action: Literal["flag", "block"] = (
                    "block" if near.action == "block" and self._near_action == "block" else "flag"
                )
                self._hits[NEAR_DUPLICATE_RULE] = Hit(
                    NEAR_DUPLICATE_RULE, near.category, action, (0, 0)
                )
                self._snippets[NEAR_DUPLICATE_RULE] = snippet(self._text, 0, 0)
        self.blocked = any(h.action == "block" for h in self._hits.values())
        return self.blocked

    def _sign(self, final: bool) -> dict[str, Signature]:
        """Feed the new text to the running signatures; return them when a comparison is
        due (every ``_COMPARE_EVERY`` characters, and at the end)."""
        if not self._signing or (self._length == self._signed and not final):
            return {}
        piece = self._text[self._signed - self._base :]
        self._signed = self._length
        signatures = {kid: r.feed(piece, final=final) for kid, r in self._signing.items()}
        if not final and self._length - self._compared < _COMPARE_EVERY:
            return {}
        self._compared = self._length
        return signatures

    def _trim(self) -> None:
        """Forget text that is released, checked and signed (long streams stay small)."""
        keep_from = min(self._window_start() - SNIPPET_CONTEXT, self._signed)
        drop = keep_from - self._base
        if drop > 4 * max(self._hold, 1024):
            self._text = self._text[drop:]
            self._base = keep_from

    def _cut(self) -> bytes:
        """What ends a stream cut mid-way, so the client can tell a cut from an end."""
        body = content_refusal(self.decision)
        if self.kind == "sse":
            return b"event: privlog.blocked\ndata: " + body + b"\n\n"
        if self.kind == "ndjson":
            return body + b"\n"
        return b""

    # --- results -------------------------------------------------------------------------

    @property
    def decision(self) -> ContentDecision:
        hits = tuple(self._hits.values())
        action: Literal["allow", "flag", "block"] = "allow"
        if hits:
            action = "block" if any(h.action == "block" for h in hits) else "flag"
        return ContentDecision(action, hits, self._ruleset.version)

    def refusal(self) -> tuple[int, bytes]:
        """The status and body that replace a reply blocked before any of it was sent."""
        return 451, content_refusal(self.decision)

    def evidence(self) -> Evidence | None:
        """What the register needs, if anything matched (signed under the newest key)."""
        decision = self.decision
        if not decision.hits:
            return None
        signature = kid = None
        if self._index is not None:
            kid = self._index.kids()[0]
            running = self._signing.get(kid)
            signature = running.feed("", final=True) if running is not None else None
        return Evidence(
            "output",
            decision,
            "".join(self._kept),
            signature=signature,
            key_id=kid,
            near=self._near,
            snippets=tuple(self._snippets[h.rule_id] for h in decision.hits),
        )
