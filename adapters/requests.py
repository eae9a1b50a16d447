"""The egress guard for ``requests``: an HTTPAdapter mounted for http and https.

    session = guarded_session()

Restoring placeholders applies to replies that are read whole (``stream=False``, the
default); streamed replies pass through as sent.
"""

from __future__ import annotations

from typing import Any

try:
    import requests
    from requests.adapters import HTTPAdapter
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ImportError("privlog.adapters.requests needs requests: pip install requests") from exc

from privlog.core import Privlog
from privlog.egress import restorer_for

__all__ = ["GuardAdapter", "guarded_session"]


class GuardAdapter(HTTPAdapter):
    """Refuses or scrubs each request per the egress policy before sending it."""

    def __init__(self, *, privlog: Privlog | None = None, **kwargs: Any) -> None:
        self._privlog = privlog
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        guard = (self._privlog or Privlog.current()).egress_guard
        body = request.body
        if body is None:
            raw = b""
        elif isinstance(body, str):
            raw = body.encode()
        elif isinstance(body, bytes):
            raw = body
        else:  # a generator or file object: binary as far as the guard is concerned
            raw = b"\0<stream>"
        headers = {
            k: v if isinstance(v, str) else v.decode("latin-1") for k, v in request.headers.items()
        }
        decision = guard.check(request.method or "GET", request.url or "", headers, raw)
        if decision.action != "first_party":
            request.url = decision.url
            request.headers.update(decision.headers)
            if decision.body != raw:
                request.body = decision.body
                request.headers["Content-Length"] = str(len(decision.body))
            if decision.restore is not None:
                request.headers["Accept-Encoding"] = "identity"
        response = super().send(request, **kwargs)
        if decision.restore is not None and not kwargs.get("stream"):
            restorer = restorer_for(response.headers.get("content-type", ""), decision.restore)
            text = restorer.feed(response.content.decode("utf-8", "replace")) + restorer.finish()
            response._content = text.encode()  # requests has no public setter for a read body
        return response


def guarded_session(*, privlog: Privlog | None = None) -> requests.Session:
    """A ``requests.Session`` whose every request passes the egress guard."""
    session = requests.Session()
    adapter = GuardAdapter(privlog=privlog)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
