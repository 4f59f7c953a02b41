"""The CLI as a user meets it: help texts, one JSON error shape for ``ask --json`` (exit 1), empty and
over-long questions refused before any model loads, and the UI port (flag, GRADIO_SERVER_PORT, busy)."""

from __future__ import annotations

import json
import socket

import pytest

from assistant.cli import build_parser
from assistant.cli import main as cli
from assistant.records import Filters
from assistant.webui.serve import ServeError, default_port


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as e:
        cli([*argv, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def test_help_texts_speak_to_users(capsys):
    top = _help(capsys)
    assert "Answer questions about anti-trafficking reports" in top and "Starts fast" not in top
    assert "assistant ask" in top and "--json" in top
    store = _help(capsys, "store")
    assert "delete FILE" in store and "reset" in store and "as `store stats` lists it" in store
    serve = _help(capsys, "serve")
    assert "GRADIO_SERVER_PORT" in serve and "address to listen on" in serve
    ask = _help(capsys, "ask")
    assert "extractive" in ask and "1,000 characters" in ask


def _ask_json(capsys, tmp_path, question: str) -> tuple[int, dict, str]:
    code = cli(["ask", question, "--json", "--store", str(tmp_path / "empty-store")])
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 1, out  # one JSON object, one line
    return code, json.loads(lines[0]), err


def test_ask_json_on_an_empty_store_is_one_error_object(capsys, tmp_path):
    code, out, err = _ask_json(capsys, tmp_path, "Which sectors do the partnerships involve?")
    assert code == 1 and set(out) == {"error"} and set(out["error"]) == {"kind", "message"}
    assert out["error"]["kind"] == "empty_store" and "assistant ingest" in out["error"]["message"]
    assert "Traceback" not in err


@pytest.mark.parametrize("question, words", [("", "empty question"), ("  \n ", "empty question"),
                                             ("y" * 1001, "1,001 characters; the limit is 1,000")])
def test_empty_and_over_long_questions_are_refused(capsys, tmp_path, question, words):
    code, out, _ = _ask_json(capsys, tmp_path, question)
    assert code == 1 and out["error"]["kind"] == "bad_question" and words in out["error"]["message"]
    assert cli(["ask", question, "--store", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: {out['error']['message']}"]


def test_serve_port_from_flag_or_gradio_server_port(monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert build_parser().parse_args(["serve"]).port == 7860
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    assert build_parser().parse_args(["serve"]).port == 7999
    assert build_parser().parse_args(["serve", "--port", "8123"]).port == 8123
    with pytest.raises(ServeError, match="GRADIO_SERVER_PORT='http' is not a port number"):
        default_port({"GRADIO_SERVER_PORT": "http"})


def test_a_busy_port_is_one_line_naming_the_ways_out(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(SystemExit) as e:
            cli(["serve", "--port", str(port), "--store", str(tmp_path / "store"), "--sources", str(tmp_path)])
    msg = str(e.value.code)
    assert msg == (f"error: port {port} on 127.0.0.1 is in use: pass --port N "
                   "(or set GRADIO_SERVER_PORT, or `make run PORT=N`)")


def test_filters_record():
    assert Filters().as_dict() is None
    assert Filters(files=("a.pdf",), year=2021).as_dict() == {"files": ["a.pdf"], "year": 2021}
    args = build_parser().parse_args(["ask", "q", "--doc", "a.pdf", "--doc", "b.pdf", "--publisher", "OSCE"])
    from assistant.cli import _filters

    assert _filters(args) == {"files": ["a.pdf", "b.pdf"], "publisher": "OSCE"}
