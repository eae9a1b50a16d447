"""The egress guard: destinations, scrubbing, taint, blocking, failure, restore."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from privlog import EgressBlocked, Privlog
from privlog.context import RequestContext, current_request
from privlog.egress import Restorer
from privlog.pipeline import Pipeline
from tests.adapters_support import make_privlog
from tests.canaries import cn_mobile, cn_resident_id, email, find_leaks
from tests.thirdparty import third_party


def _privlog(
    tmp_path: Path,
    port: int,
    *,
    model: str | None = None,
    hosts: list[str] | None = None,
    database_url: str | None = None,
    **processor: Any,
) -> Privlog:
    """A Privlog whose one processor ("vendor") is the loopback server on ``port``."""
    egress = {
        "first_party": ["first.internal"],
        "processors": [
            {"name": "vendor", "hosts": hosts or [f"127.0.0.1:{port}"], **processor},
        ],
    }
    return make_privlog(tmp_path, model=model, egress=egress, database_url=database_url)


def test_unknown_host_is_refused(tmp_path: Path) -> None:
    """A host in neither list is refused before anything is sent; the message names the
    host and the setting to change."""
    from privlog.adapters.httpx import guarded_client

    with third_party() as server:
        pl = _privlog(tmp_path, 1)  # the server's port is not a processor here
        with guarded_client(privlog=pl) as client, pytest.raises(EgressBlocked) as caught:
            client.post(f"http://127.0.0.1:{server.server_port}/v1", json={"prompt": "hi"})
        assert server.received == []
    assert f"127.0.0.1:{server.server_port}" in str(caught.value)
    assert "egress.first_party" in str(caught.value)
    assert pl.stats()["egress"]["blocked_unknown_host"] == 1


def test_scrubs_json_and_restores_the_reply(tmp_path: Path, rng: random.Random) -> None:
    """Identifiers in any JSON string (and the query string) are replaced before sending;
    with restore on, the reply the app reads has the original values back."""
    from privlog.adapters.httpx import guarded_client

    mobile, mail = cn_mobile(rng), email(rng)
    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port, restore=True)
        body = {
            "messages": [{"role": "user", "content": f"call {mobile} or {mail}"}],
            "meta": {"note": mail},
        }
        with guarded_client(privlog=pl) as client:
            reply = client.post(
                f"http://127.0.0.1:{server.server_port}/v1?ref={mobile}", json=body
            ).json()
        (received,) = server.received
    assert find_leaks(received, [mobile, mail]) == []
    assert b"<PHONE_NUMBER_1>" in received
    assert reply["echo"] == body  # restored for the app
    assert reply["path"] == "/v1?ref=%3CPHONE_NUMBER_1%3E"  # the query string was scrubbed too


def test_taint_from_the_inbound_request(tmp_path: Path) -> None:
    """A value found in the inbound request (here a passport number, found only thanks to its
    context word) is replaced in the outbound body where the detector alone would miss it."""
    from privlog.adapters.httpx import guarded_client

    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port)
        ctx = RequestContext(route="/chat", fields={"prompt": "我的护照号E12345678"})
        token = current_request.set(ctx)
        try:
            with guarded_client(privlog=pl) as client:
                client.post(
                    f"http://127.0.0.1:{server.server_port}/v1", json={"q": "check E12345678 now"}
                )
        finally:
            current_request.reset(token)
        (received,) = server.bodies
    assert b"E12345678" not in received
    assert json.loads(received) == {"q": "check <CN_PASSPORT_1> now"}
    assert ctx.egress[0]["entity_counts"] == {"CN_PASSPORT": 1}
    assert ctx.egress[0]["action"] == "scrub"


def test_block_processor(tmp_path: Path, rng: random.Random) -> None:
    """A processor with action = "block" gets clean requests and refuses identifying ones."""
    from privlog.adapters.httpx import guarded_client

    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port, action="block")
        url = f"http://127.0.0.1:{server.server_port}/v1"
        with guarded_client(privlog=pl) as client:
            assert client.post(url, json={"prompt": "what is 2+2?"}).status_code == 200
            with pytest.raises(EgressBlocked, match="PHONE_NUMBER"):
                client.post(url, json={"prompt": f"call {cn_mobile(rng)}"})
        assert len(server.received) == 1


@pytest.mark.usefixtures("broken_detection")
def test_detector_failure_refuses_the_call(tmp_path: Path, rng: random.Random) -> None:
    """If detection raises, the call is refused and the third party receives nothing."""
    from privlog.adapters.httpx import guarded_client

    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port)
        with (
            guarded_client(privlog=pl) as client,
            pytest.raises(EgressBlocked, match="detection failed"),
        ):
            client.post(
                f"http://127.0.0.1:{server.server_port}/v1", json={"prompt": cn_mobile(rng)}
            )
        assert server.received == []
    assert pl.stats()["egress"]["blocked_detector_error"] == 1


def test_binary_bodies_are_refused_unless_allowed(tmp_path: Path) -> None:
    """Binary bodies to a processor are refused unless the processor allows them."""
    from privlog.adapters.httpx import guarded_client

    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port)
        with (
            guarded_client(privlog=pl) as client,
            pytest.raises(EgressBlocked, match="allow_binary"),
        ):
            client.post(
                f"http://127.0.0.1:{server.server_port}/v1",
                content=b"\x00\x01\x02",
                headers={"content-type": "application/octet-stream"},
            )
        assert server.received == []


def test_first_party_passes_raw(tmp_path: Path, rng: random.Random) -> None:
    """A first-party host receives the request exactly as the app made it."""
    from privlog.adapters.httpx import GuardTransport

    mobile = cn_mobile(rng)
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.read())
        return httpx.Response(200, json={})

    pl = _privlog(tmp_path, 1)
    transport = GuardTransport(httpx.MockTransport(handler), privlog=pl)
    with httpx.Client(transport=transport) as client:
        client.post("http://first.internal/x", json={"m": mobile})
    assert mobile.encode() in seen[0]


@pytest.mark.parametrize("split", range(1, 20))
def test_restore_across_split_chunks(split: int) -> None:
    """A placeholder split across two chunks at any offset is restored whole."""
    text = "x <PHONE_NUMBER_1> and <EMAIL_ADDRESS_12> done"
    for cut in range(len(text) + 1):
        restorer = Restorer({"<PHONE_NUMBER_1>": "13800138000", "<EMAIL_ADDRESS_12>": "a@b.cn"})
        parts = [text[:cut][i : i + split] for i in range(0, cut, split)] + [text[cut:]]
        out = "".join(restorer.feed(p) for p in parts) + restorer.finish()
        assert out == "x 13800138000 and a@b.cn done", (cut, split)


def test_sse_stream_restored_through_the_transport(tmp_path: Path, rng: random.Random) -> None:
    """An SSE reply written in 7-byte pieces (placeholders split across network chunks)
    comes back with the original values, while the third party only saw placeholders."""
    from privlog.adapters.httpx import guarded_client

    mobile = cn_mobile(rng)
    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port, restore=True)
        with (
            guarded_client(privlog=pl) as client,
            client.stream(
                "POST",
                f"http://127.0.0.1:{server.server_port}/v1",
                json={"stream": True, "q": f"tel {mobile}"},
            ) as response,
        ):
            events = [line for line in response.iter_lines() if line.startswith("data: {")]
        assert find_leaks(b"".join(server.received), [mobile]) == []
    rebuilt = "".join(json.loads(e[6:])["delta"] for e in events)
    assert json.loads(rebuilt) == {"stream": True, "q": f"tel {mobile}"}


def test_async_client_and_requests_session(tmp_path: Path, rng: random.Random) -> None:
    """The async httpx client and the requests session are guarded the same way."""
    from privlog.adapters.httpx import guarded_async_client
    from privlog.adapters.requests import guarded_session

    rid, mobile = cn_resident_id(rng), cn_mobile(rng)
    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port, restore=True)
        url = f"http://127.0.0.1:{server.server_port}/v1"

        async def call() -> Any:
            async with guarded_async_client(privlog=pl) as client:
                return (await client.post(url, json={"id": rid})).json()

        assert asyncio.run(call())["echo"] == {"id": rid}
        session = guarded_session(privlog=pl)
        assert session.post(url, json={"tel": mobile}).json()["echo"] == {"tel": mobile}
        assert session.post(url, data={"tel": mobile}).status_code == 200
        with pytest.raises(EgressBlocked):
            session.post("http://elsewhere.example/x", json={})
        session.close()
        assert find_leaks(b"".join(server.received), [rid, mobile]) == []


def test_taint_never_rewrites_inside_a_placeholder(tmp_path: Path) -> None:
    """A tainted value that is also part of a placeholder name ("IBAN" beside
    "<IBAN_CODE_1>") is replaced in the text but never inside the placeholder."""
    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port)
        guard = pl.egress_guard
        scope = pl.pipeline.transformer.scope()
        scope.placeholder("IBAN_CODE", "GB82 WEST 1234 5698 7654 32")
        scope.placeholder("ORGANIZATION", "IBAN")
        cleaned = guard._clean(
            ["IBAN: GB82 WEST 1234 5698 7654 32 and <IBAN_CODE_1>"],
            scope,
            sorted(((v, k) for k, v in scope.originals.items()), key=lambda p: -len(p[0])),
        )
    ((text, counts),) = cleaned.values()
    assert text == "<ORGANIZATION_1>: <IBAN_CODE_1> and <IBAN_CODE_1>"
    assert counts == {"ORGANIZATION": 1, "IBAN_CODE": 1}


def test_openai_sdk_through_the_guard(tmp_path: Path, rng: random.Random) -> None:
    """The real openai client with http_client=guarded_client(): the prompt reaches the
    (loopback) vendor scrubbed, and the reply comes back with the value restored."""
    import openai

    from privlog.adapters.httpx import guarded_client

    mobile, rid = cn_mobile(rng), cn_resident_id(rng)
    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port, restore=True)
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{server.server_port}/v1",
            api_key="test-key",
            http_client=guarded_client(privlog=pl),
            max_retries=0,
        )
        completion = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"我的手机{mobile}，身份证{rid}"}]
        )
        client.close()
        (received,) = server.bodies
    assert find_leaks(received, [mobile, rid]) == []
    assert b"<PHONE_NUMBER_1>" in received
    assert completion.choices[0].message.content == f"You said: 我的手机{mobile}，身份证{rid}"


def test_install_egress_guard(tmp_path: Path, rng: random.Random) -> None:
    """After install_egress_guard(), plain httpx clients and requests sessions are guarded;
    uninstall restores the constructors."""
    import requests

    from privlog import install_egress_guard
    from privlog.adapters import install

    mobile = cn_mobile(rng)
    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port)
        url = f"http://127.0.0.1:{server.server_port}/v1"
        install_egress_guard(pl)
        try:
            with httpx.Client() as client:
                client.post(url, json={"t": mobile})
                with pytest.raises(EgressBlocked):
                    client.post("http://elsewhere.example/", json={})
            session = requests.Session()
            session.post(url, json={"t": mobile})
            session.close()
        finally:
            install.uninstall()
        assert len(server.bodies) == 2
        assert find_leaks(b"".join(server.received), [mobile]) == []
        with httpx.Client() as client:  # back to normal
            client.post(url, json={"t": "plain"})
        assert server.bodies[-1] == b'{"t":"plain"}'


@pytest.mark.parametrize("size", range(1, 9))
def test_sse_restore_across_events(size: int) -> None:
    """OpenAI-style deltas of every size: a placeholder spread over several events is
    restored, the text outside placeholders is unchanged, and nothing is lost at [DONE]."""
    from privlog.egress import SseRestorer

    text = "hi <PHONE_NUMBER_1>, mail <EMAIL_ADDRESS_1> <"
    restorer = SseRestorer({"<PHONE_NUMBER_1>": "13800138000", "<EMAIL_ADDRESS_1>": "a@b.cn"})
    stream = (
        "".join(
            f"data: {json.dumps({'choices': [{'delta': {'content': text[i : i + size]}}]})}\n\n"
            for i in range(0, len(text), size)
        )
        + "data: [DONE]\n\n"
    )
    out = "".join(restorer.feed(stream[i : i + 5]) for i in range(0, len(stream), 5))
    out += restorer.finish()
    events = [e[6:] for e in out.split("\n\n") if e.startswith("data: ")]
    assert events[-1] == "[DONE]"
    rebuilt = "".join(json.loads(e)["choices"][0]["delta"]["content"] for e in events[:-1])
    assert rebuilt == "hi 13800138000, mail a@b.cn <"


def test_streamed_chat_restored_through_the_guard(tmp_path: Path, rng: random.Random) -> None:
    """A vendor streaming three characters per event: the app reassembles the user's own
    values, while the vendor only saw placeholders."""
    from privlog.adapters.httpx import guarded_client

    mobile = cn_mobile(rng)
    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port, restore=True)
        body = {"stream": "tokens", "messages": [{"role": "user", "content": f"tel {mobile}"}]}
        with (
            guarded_client(privlog=pl) as client,
            client.stream(
                "POST", f"http://127.0.0.1:{server.server_port}/v1/chat/completions", json=body
            ) as response,
        ):
            events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
        assert find_leaks(b"".join(server.received), [mobile]) == []
    assert events[-1] == "[DONE]"
    said = "".join(json.loads(e)["choices"][0]["delta"]["content"] for e in events[:-1])
    assert said == f"You said: tel {mobile}"


def test_decisions_are_recorded_without_values(tmp_path: Path, rng: random.Random) -> None:
    """Each outbound decision made while serving a request lands in that request's usage
    record: destination, processor, action and counts by type, never the values."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from privlog.adapters.asgi import PrivlogMiddleware
    from privlog.adapters.httpx import guarded_client
    from tests.adapters_support import stored

    mobile = cn_mobile(rng)
    with third_party() as server:
        pl = _privlog(tmp_path, server.server_port)
        app = FastAPI()
        app.add_middleware(PrivlogMiddleware, privlog=pl)
        upstream = f"http://127.0.0.1:{server.server_port}/v1/chat"

        @app.post("/chat")
        def chat(body: dict[str, Any]) -> Any:
            with guarded_client(privlog=pl) as client:
                client.post(upstream, json=body)
                with pytest.raises(EgressBlocked):
                    client.post("http://elsewhere.example/x", json=body)
            return {"ok": True}

        with TestClient(app) as client:
            assert client.post("/chat", json={"prompt": f"tel {mobile}"}).status_code == 200
        (row,) = stored(pl)
    decisions = json.loads(row["egress"])
    assert decisions == [
        {
            "destination": f"127.0.0.1:{server.server_port}",
            "processor": "vendor",
            "action": "scrub",
            "entity_counts": {"PHONE_NUMBER": 1},
        },
        {
            "destination": "elsewhere.example",
            "processor": None,
            "action": "blocked",
            "entity_counts": {},
        },
    ]
    assert mobile not in json.dumps(row, default=str)
    pl.close()


def test_restore_with_in_memory_transports(tmp_path: Path, rng: random.Random) -> None:
    """Restoring works over any inner transport, sync and async (httpx.MockTransport's
    streams are both at once)."""
    from privlog.adapters.httpx import AsyncGuardTransport, GuardTransport

    mobile = cn_mobile(rng)
    pl = _privlog(tmp_path, 1, hosts=["vendor.example"], restore=True)

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=json.loads(request.read()))

    with httpx.Client(transport=GuardTransport(httpx.MockTransport(echo), privlog=pl)) as client:
        assert client.post("http://vendor.example/", json={"t": mobile}).json() == {"t": mobile}

    async def call() -> Any:
        transport = AsyncGuardTransport(httpx.MockTransport(echo), privlog=pl)
        async with httpx.AsyncClient(transport=transport) as client:
            return (await client.post("http://vendor.example/", json={"t": mobile})).json()

    assert asyncio.run(call()) == {"t": mobile}


def test_detection_deadline_refuses_the_call(
    tmp_path: Path, rng: random.Random, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Detection slower than egress.detection_deadline refuses the call; nothing is sent."""
    import time

    from privlog.adapters.httpx import guarded_client

    original = Pipeline.scrub_many

    def slow(self: Pipeline, texts: Any, scope: Any = None) -> Any:
        time.sleep(1.0)
        return original(self, texts, scope)

    with third_party() as server:
        egress = {
            "detection_deadline": 0.2,
            "processors": [{"name": "v", "hosts": [f"127.0.0.1:{server.server_port}"]}],
        }
        pl = make_privlog(tmp_path, egress=egress)
        monkeypatch.setattr(Pipeline, "scrub_many", slow)
        with guarded_client(privlog=pl) as client, pytest.raises(EgressBlocked, match="deadline"):
            client.post(f"http://127.0.0.1:{server.server_port}/v1", json={"t": cn_mobile(rng)})
        assert server.received == []
    assert pl.stats()["egress"]["blocked_deadline"] == 1
