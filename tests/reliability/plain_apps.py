"""The example apps' chat endpoint without privlog: the baseline the load scenario measures
privlog's overhead against, served the same way (uvicorn or gunicorn, same workers)."""

from typing import Any

from fastapi import FastAPI
from flask import Flask, request

fastapi_app = FastAPI()


def _reply(body: dict[str, Any]) -> dict[str, Any]:
    asked = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
    reply = f"(canned reply) I received {asked} characters."
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}]}


@fastapi_app.post("/v1/chat/completions")
async def chat(body: dict[str, Any]) -> Any:
    return _reply(body)


flask_app = Flask(__name__)


@flask_app.post("/v1/chat/completions")
def flask_chat() -> Any:
    return _reply(request.get_json(force=True))
