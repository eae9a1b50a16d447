"""Input extraction (privlog.extract): what counts as user input in LLM API requests."""

from __future__ import annotations

import json

import pytest

from privlog.extract import ExtractionPolicy, extract, select

POLICY = ExtractionPolicy()


def _json(
    doc: object, route: str = "/v1/chat/completions", policy: ExtractionPolicy = POLICY
) -> dict[str, str]:
    result = extract(
        policy, route=route, content_type="application/json", body=json.dumps(doc).encode()
    )
    assert result.flags == frozenset()
    return result.fields


class TestLLMShapes:
    def test_openai_chat_completions(self) -> None:
        """Message content as a string or as text parts, and tool-call arguments, are input;
        model names and parameters are not."""
        doc = {
            "model": "gpt-4o",
            "temperature": 0.2,
            "messages": [
                {"role": "system", "content": "be brief"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "hi, I'm Wei"},
                        {"type": "image_url", "image_url": {"url": "https://x"}},
                    ],
                },
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"function": {"name": "lookup", "arguments": '{"phone": "13800138000"}'}}
                    ],
                },
                {"role": "user", "content": "thanks"},
            ],
        }
        assert _json(doc) == {
            "messages[0].content": "be brief",
            "messages[1].content[0].text": "hi, I'm Wei",
            "messages[2].tool_calls[0].function.arguments": '{"phone": "13800138000"}',
            "messages[3].content": "thanks",
        }

    def test_completions_embeddings_responses(self) -> None:
        """prompt and input as strings or lists, and Responses input items, are input."""
        assert _json({"model": "m", "prompt": "hello"}) == {"prompt": "hello"}
        assert _json({"model": "m", "input": ["a", "b"]}) == {"input[0]": "a", "input[1]": "b"}
        doc = {
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "q"}]}],
            "instructions": "sys",
        }
        assert _json(doc) == {"input[0].content[0].text": "q", "instructions": "sys"}

    def test_anthropic_messages(self) -> None:
        """Anthropic's system (string or blocks) and content blocks are input."""
        doc = {
            "model": "claude",
            "system": [{"type": "text", "text": "you are kind"}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "my id 11010519491231002X"}]},
                {"role": "user", "content": [{"type": "tool_result", "content": "result text"}]},
            ],
        }
        assert _json(doc) == {
            "system[0].text": "you are kind",
            "messages[0].content[0].text": "my id 11010519491231002X",
            "messages[1].content[0].content": "result text",
        }

    def test_generic_keys(self) -> None:
        """Top-level prompt, query, question, text, message and input are input."""
        doc = {
            "query": "q",
            "question": "w",
            "text": "t",
            "message": "m",
            "user": "u-1",
            "api_key": "k",
        }
        assert _json(doc, route="/search") == {
            "query": "q",
            "question": "w",
            "text": "t",
            "message": "m",
        }


class TestPolicy:
    def test_route_selectors_and_patterns(self) -> None:
        """Per-route selectors replace the defaults; excluded routes are not inspected."""
        policy = ExtractionPolicy(routes={"/v1/custom*": ("payload.note",)}, exclude=("/health*",))
        assert _json(
            {"payload": {"note": "n"}, "prompt": "p"}, route="/v1/custom/x", policy=policy
        ) == {"payload.note": "n"}
        assert _json({"prompt": "p"}, route="/healthz", policy=policy) == {}
        only = ExtractionPolicy(include=("/v1/*",))
        assert _json({"prompt": "p"}, route="/admin", policy=only) == {}

    def test_query_parameters_only_when_named(self) -> None:
        """Query-string parameters are input only when the policy names them."""
        named = ExtractionPolicy(query_params=("q",))
        result = extract(
            named, route="/s", content_type=None, body=b"", query_string="q=hello&page=2"
        )
        assert result.fields == {"query.q": "hello"}
        assert (
            extract(POLICY, route="/s", content_type=None, body=b"", query_string="q=x").fields
            == {}
        )


class TestBodies:
    def test_forms(self) -> None:
        """URL-encoded fields are input; multipart gives text fields and file names, never
        file contents."""
        result = extract(
            POLICY,
            route="/f",
            content_type="application/x-www-form-urlencoded",
            body=b"name=Wei+Zhang&age=30",
        )
        assert result.fields == {"form.name": "Wei Zhang", "form.age": "30"}
        body = (
            b'--XyZ\r\nContent-Disposition: form-data; name="comment"\r\n\r\n'
            b"hello 13800138000\r\n"
            b'--XyZ\r\nContent-Disposition: form-data; name="upload"; '
            b'filename="zhang_wei_id.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n"
            b"%PDF secret contents 11010519491231002X\r\n--XyZ--\r\n"
        )
        result = extract(
            POLICY, route="/f", content_type="multipart/form-data; boundary=XyZ", body=body
        )
        assert result.fields == {
            "form.comment": "hello 13800138000",
            "form.upload.filename": "zhang_wei_id.pdf",
        }

    @pytest.mark.parametrize(
        "body",
        [b"{not json", b"[" * 100 + b"]" * 100, b"[" * 200_000, b'{"a":' * 70 + b"1" + b"}" * 70],
        ids=["invalid", "depth-100", "depth-200k", "object-depth-70"],
    )
    def test_unparseable_bodies_are_flagged(self, body: bytes) -> None:
        """Invalid or too deeply nested JSON yields no fields and the unparseable flag."""
        result = extract(POLICY, route="/r", content_type="application/json", body=body)
        assert result.fields == {}
        assert result.flags == {"unparseable"}

    def test_invalid_utf8_is_replaced(self) -> None:
        """Invalid UTF-8 inside JSON strings is decoded with U+FFFD, not an error."""
        result = extract(
            POLICY, route="/r", content_type="application/json", body=b'{"prompt": "a\xffb"}'
        )
        assert result.fields == {"prompt": "a\ufffdb"}

    def test_plain_text_and_binary(self) -> None:
        """text/* bodies are input as a whole; binary bodies are not inspected."""
        assert extract(
            POLICY, route="/r", content_type="text/plain; charset=utf-8", body=b"hi"
        ).fields == {"body": "hi"}
        assert (
            extract(
                POLICY, route="/r", content_type="application/octet-stream", body=b"\x00\x01"
            ).fields
            == {}
        )

    def test_select_walks_lists(self) -> None:
        """select() yields concrete paths in document order."""
        doc = {"a": [{"b": "x"}, {"b": 1}, {"b": "y"}]}
        assert list(select(doc, "a[].b")) == [("a[0].b", "x"), ("a[2].b", "y")]
