"""An OpenAI-shaped chat endpoint behind privlog (FastAPI). Run: uvicorn examples.fastapi_app:app

Reads PRIVLOG_* from the environment. Answers with a canned reply; forwarding to
UPSTREAM_URL arrives with the egress guard.
"""

from typing import Any

from fastapi import FastAPI

from privlog import Privlog
from privlog.adapters.asgi import PrivlogMiddleware

app = FastAPI(title="privlog example")
app.add_middleware(
    PrivlogMiddleware,
    privlog=Privlog.from_env(),
    identify=lambda conn: conn.headers.get("x-user-id"),  # e.g. from your auth layer
)


@app.post("/v1/chat/completions")
async def chat(body: dict[str, Any]) -> dict[str, Any]:
    asked = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
    reply = f"(canned reply) I received {asked} characters."
    return {
        "object": "chat.completion",
        "model": body.get("model", "demo"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}],
    }
