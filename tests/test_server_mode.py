"""Client/server path: ingest and ask against a real `chroma run` server on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.chain import Assistant
from assistant.config import Settings
from assistant.ingest import ingest
from assistant.store import Store

pytestmark = pytest.mark.slow  # starts a `chroma run` server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def chroma_server(tmp_path):
    exe = Path(sys.executable).parent / "chroma"
    if not exe.exists():
        exe = shutil.which("chroma")
    if not exe:
        pytest.skip("the `chroma` command (chromadb) is not installed")
    port = _free_port()
    log = open(tmp_path / "chroma.log", "w")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start: " + (tmp_path / "chroma.log").read_text()[-2000:])
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def test_ingest_and_ask_through_chroma_server(chroma_server, corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "cache"))
    s = Settings(store_dir=tmp_path / "unused", chroma_host="127.0.0.1", chroma_port=chroma_server)
    rep = ingest([corpus], s, progress=False)
    assert rep.ok and len(rep.added) == 2
    assert not (tmp_path / "unused" / "chroma.sqlite3").exists()  # nothing written locally but the cache
    stats = Store(s).stats()
    assert stats["documents"] == 2 and stats["pages"] == 5

    ans = Assistant(s).ask("How many hotel employees were trained to recognise exploitation?")
    assert not ans.refused
    assert ans.citations[0].file == "ppp-compendium.pdf" and ans.citations[0].page == 2
    assert "12,000" in ans.text

    # another client deletes a document on the server: the lexical index follows
    other = Store(Settings(store_dir=tmp_path / "x", chroma_host="127.0.0.1", chroma_port=chroma_server))
    assert other.delete_document("survey/survey-report.pdf")
    hits = Assistant(s).retrieve("forced begging increased", k=5)
    assert hits and all(h.chunk.file == "ppp-compendium.pdf" for h in hits)
