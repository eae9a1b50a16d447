"""An OpenAI-shaped chat endpoint behind privlog (FastAPI). Run: uvicorn examples.fastapi_app:app

Reads PRIVLOG_* from the environment. With UPSTREAM_URL set (an OpenAI-compatible server,
listed as a processor in the policy's [egress]), forwards through the guarded client;
otherwise answers with a canned reply.
"""

import os
from typing import Any

from fastapi import FastAPI

from privlog import Privlog
from privlog.adapters.asgi import PrivlogMiddleware
from privlog.adapters.httpx import guarded_async_client

privlog = Privlog.from_env()
app = FastAPI(title="privlog example")
app.add_middleware(
    PrivlogMiddleware, privlog=privlog, identify=lambda conn: conn.headers.get("x-user-id")
)


@app.post("/v1/chat/completions")
async def chat(body: dict[str, Any]) -> Any:
    upstream = os.environ.get("UPSTREAM_URL")
    if upstream:
        async with guarded_async_client(privlog=privlog, timeout=60) as client:
            return (await client.post(f"{upstream}/chat/completions", json=body)).json()
    asked = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
    reply = f"(canned reply) I received {asked} characters."
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}]}
