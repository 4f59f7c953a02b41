"""The ``openai`` backend against a real HTTP server speaking the OpenAI chat API on 127.0.0.1.

The stub stands in for vLLM / llama.cpp server / LM Studio: the real ``langchain_openai``
client and ``openai`` SDK talk HTTP to it, JSON and server-sent events alike.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from openai_stub_server import OpenAIStub  # noqa: E402

from assistant.answerers import get_answerer  # noqa: E402
from assistant.answerers.prompts import SYSTEM_PROMPT  # noqa: E402
from assistant.errors import BackendError  # noqa: E402
from assistant.records import Answer, Chunk, Hit  # noqa: E402

TEXTS = [
    "In 2019 the agency identified 1,245 victims of trafficking. Most were recruited online.",
    "Labour exploitation was most common in the construction sector.",
]
REPLY = "The agency identified 1,245 victims of trafficking in 2019 [1]. Most were recruited online [1][5]."


def make_hits() -> list[Hit]:
    return [
        Hit(
            chunk=Chunk(
                chunk_id=f"c{i}", doc_id="d", file="reports/annual.pdf", title='Annual "2019" report', text=t,
                page_start=4 + i, page_end=4 + i, page_label="", section="", start=0, end=len(t), index=i,
            ),
            score=0.9 - i / 10,
            rank=i,
        )
        for i, t in enumerate(TEXTS, 1)
    ]


@pytest.fixture
def stub():
    with OpenAIStub(REPLY) as server:
        yield server


def _check_request(body: dict, hits: list[Hit]) -> None:
    messages = body["messages"]
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    user = messages[1]
    assert user["role"] == "user"
    for i, hit in enumerate(hits, 1):
        fence = f'<passage n="{i}" title="Annual &quot;2019&quot; report" page="{4 + i}">\n{hit.chunk.text}\n</passage>'
        assert fence in user["content"]
    assert user["content"].rstrip().endswith("Question: How many victims were identified in 2019?")
    assert body["temperature"] == 0.0


def test_answer_through_an_openai_compatible_server(stub):
    hits = make_hits()
    answerer = get_answerer("openai", base_url=stub.base_url, model="local-model")
    ans = answerer.answer("How many victims were identified in 2019?", hits)

    assert len(stub.requests) == 1 and stub.requests[0].get("stream") is True  # answer() streams: first-token latency
    assert stub.requests[0]["model"] == "local-model"
    _check_request(stub.requests[0], hits)
    assert ans.text == "The agency identified 1,245 victims of trafficking in 2019 [1]. Most were recruited online [1]."
    assert [c.chunk_id for c in ans.citations] == ["c1"] and ans.citations[0].supported
    assert ans.citations[0].page == 5 and ans.backend == "openai" and not ans.unsupported


def test_streaming_through_an_openai_compatible_server(stub):
    hits = make_hits()
    answerer = get_answerer("openai", base_url=stub.base_url, model="local-model")
    items = list(answerer.stream("How many victims were identified in 2019?", hits))
    deltas, final = items[:-1], items[-1]

    assert stub.requests[0]["stream"] is True
    _check_request(stub.requests[0], hits)
    assert len(deltas) >= 10 and "".join(deltas) == REPLY  # word by word, as the server sent it
    assert isinstance(final, Answer) and "[5]" not in final.text
    assert [c.chunk_id for c in final.citations] == ["c1"]


def test_settings_from_the_environment(stub, monkeypatch):
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", stub.base_url)
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "qwen2.5-7b-instruct")
    monkeypatch.setenv("ASSISTANT_LLM_API_KEY", "sk-test-123")
    get_answerer("openai").answer("How many victims were identified in 2019?", make_hits())
    assert stub.requests[0]["model"] == "qwen2.5-7b-instruct"


def test_http_error_from_the_server_is_one_line(stub):
    wrong = stub.base_url.removesuffix("/v1")  # the server answers 404 off /v1
    answerer = get_answerer("openai", base_url=wrong, max_retries=0)
    with pytest.raises(BackendError) as err:
        answerer.answer("q", make_hits())
    msg = str(err.value)
    assert msg.startswith(f"LLM server at {wrong} returned HTTP 404") and "\n" not in msg


def test_server_down_is_a_one_line_backend_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"  # nothing listens here any more
    answerer = get_answerer("openai", base_url=url, max_retries=0)
    for call in (lambda: answerer.answer("q", make_hits()), lambda: list(answerer.stream("q", make_hits()))):
        with pytest.raises(BackendError) as err:
            call()
        msg = str(err.value)
        assert msg.startswith(f"LLM server at {url} is not reachable: ") and "\n" not in msg
        assert "refused" in msg.lower()
