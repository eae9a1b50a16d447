"""Latency the egress guard adds to an outbound call with a 2 KB JSON body.

The reference is the same httpx client without the guard, in the same run, alternating;
both send to an in-process mock vendor (httpx.MockTransport) so the figures are the
guard's own cost: reading the body, taint, detection, rewriting, and restoring the reply.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from corpus import prompts  # noqa: E402
from timing import summarise  # noqa: E402

from privlog import Privlog  # noqa: E402
from privlog.adapters.httpx import GuardTransport  # noqa: E402
from privlog.config import Policy, Settings  # noqa: E402


def _vendor(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={"choices": [{"message": {"content": request.read()[:64].decode(errors="replace")}}]},
    )


def run(count: int = 300, rounds: int = 3) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp())
    egress = {"processors": [{"name": "vendor", "hosts": ["vendor.example"], "restore": True}]}
    pl = Privlog(
        Settings(
            key_file=tmp / "k",
            database_url=f"sqlite:///{tmp / 'p.db'}",
            policy=Policy(egress=egress),
        )
    )
    plain = httpx.Client(transport=httpx.MockTransport(_vendor))
    guarded = httpx.Client(transport=GuardTransport(httpx.MockTransport(_vendor), privlog=pl))
    bodies = [
        {"model": "m", "messages": [{"role": "user", "content": p}]}
        for p in prompts(count, seed=5, target_chars=2000)
    ]
    times: dict[str, list[float]] = {"plain": [], "guarded": []}
    for body in bodies[:10]:
        plain.post("http://vendor.example/v1", json=body)
        guarded.post("http://vendor.example/v1", json=body)
    for _ in range(rounds):
        for body in bodies:
            for name, client in (("plain", plain), ("guarded", guarded)):
                start = time.perf_counter()
                client.post("http://vendor.example/v1", json=body).json()
                times[name].append(time.perf_counter() - start)
    result: dict[str, Any] = {"benchmark": "egress", "body_chars": 2000, "calls": count * rounds}
    summarise(result, times, "plain", "guarded")
    print(f"egress: 2 KB JSON body, {count * rounds} calls per client")
    for label, key in (("unguarded", "plain"), ("guarded", "guarded"), ("added", "added")):
        p50, p99 = result[f"{key}_p50_ms"], result[f"{key}_p99_ms"]
        print(f"  {label:9} p50 {p50:.3f} ms  p99 {p99:.3f} ms")
    plain.close()
    guarded.close()
    pl.close()
    return result


if __name__ == "__main__":
    run()
