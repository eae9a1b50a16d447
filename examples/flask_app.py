"""An OpenAI-shaped chat endpoint behind privlog (Flask). Run: flask --app examples.flask_app run

Reads PRIVLOG_* from the environment (or app.config). With UPSTREAM_URL set (an
OpenAI-compatible server, listed as a processor in the policy's [egress]), forwards through
the guarded client; otherwise answers with a canned reply.
"""

import os
from typing import Any

from flask import Flask, request

from privlog.adapters.flask import PrivlogFlask
from privlog.adapters.httpx import guarded_client

app = Flask(__name__)
PrivlogFlask(app, identify=lambda req: req.headers.get("X-User-Id"))


@app.post("/v1/chat/completions")
def chat() -> Any:
    body = request.get_json(force=True)
    upstream = os.environ.get("UPSTREAM_URL")
    if upstream:
        privlog = app.extensions["privlog"].privlog
        with guarded_client(privlog=privlog, timeout=60) as client:
            return client.post(f"{upstream}/chat/completions", json=body).json()
    asked = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
    reply = f"(canned reply) I received {asked} characters."
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}]}
