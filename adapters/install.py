"""``privlog.install_egress_guard()``: guard new httpx clients and requests sessions by default.

For apps whose SDKs build their own HTTP clients and take none from the caller. Opt-in and
process-wide; ``uninstall()`` puts the original constructors back.
"""

from __future__ import annotations

import functools
from typing import Any

from privlog.core import Privlog

__all__ = ["install", "uninstall"]

_ORIGINALS: dict[tuple[Any, str], Any] = {}


def _wrap_init(cls: Any, wrap: Any) -> None:
    original = cls.__init__
    _ORIGINALS[(cls, "__init__")] = original

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        wrap(self, original, args, kwargs)

    cls.__init__ = __init__


def install(privlog: Privlog | None = None) -> None:
    """Guard every httpx.Client / AsyncClient and requests.Session created from now on."""
    if _ORIGINALS:
        return
    try:
        import httpx

        from .httpx import AsyncGuardTransport, GuardTransport
    except ImportError:  # httpx not installed: nothing to guard
        pass
    else:

        def sync_init(client: Any, original: Any, args: Any, kwargs: dict[str, Any]) -> None:
            inner = kwargs.pop("transport", None) or _default(httpx.HTTPTransport, kwargs)
            if not isinstance(inner, GuardTransport):
                inner = GuardTransport(inner, privlog=privlog)
            original(client, *args, transport=inner, **kwargs)

        def async_init(client: Any, original: Any, args: Any, kwargs: dict[str, Any]) -> None:
            inner = kwargs.pop("transport", None) or _default(httpx.AsyncHTTPTransport, kwargs)
            if not isinstance(inner, AsyncGuardTransport):
                inner = AsyncGuardTransport(inner, privlog=privlog)
            original(client, *args, transport=inner, **kwargs)

        _wrap_init(httpx.Client, sync_init)
        _wrap_init(httpx.AsyncClient, async_init)
    try:
        import requests

        from .requests import GuardAdapter
    except ImportError:
        return

    def session_init(session: Any, original: Any, args: Any, kwargs: dict[str, Any]) -> None:
        original(session, *args, **kwargs)
        adapter = GuardAdapter(privlog=privlog)
        session.mount("http://", adapter)
        session.mount("https://", adapter)

    _wrap_init(requests.Session, session_init)


def _default(transport_cls: Any, kwargs: dict[str, Any]) -> Any:
    """The transport httpx would have built, with the client's own TLS and limits."""
    keys = ("verify", "cert", "http1", "http2", "limits", "trust_env")
    return transport_cls(**{k: kwargs[k] for k in keys if k in kwargs})


def uninstall() -> None:
    """Restore the original constructors."""
    for (cls, name), original in _ORIGINALS.items():
        setattr(cls, name, original)
    _ORIGINALS.clear()
