"""An OpenAI-shaped chat endpoint behind privlog (Flask). Run: flask --app examples.flask_app run

Reads PRIVLOG_* from the environment (or app.config). Answers with a canned reply;
forwarding to UPSTREAM_URL arrives with the egress guard.
"""

from typing import Any

from flask import Flask, request

from privlog.adapters.flask import PrivlogFlask

app = Flask(__name__)
PrivlogFlask(app, identify=lambda req: req.headers.get("X-User-Id"))


@app.post("/v1/chat/completions")
def chat() -> dict[str, Any]:
    body = request.get_json(force=True)
    asked = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
    reply = f"(canned reply) I received {asked} characters."
    return {
        "object": "chat.completion",
        "model": body.get("model", "demo"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}],
    }
