"""SIGKILL in the middle of an ingest, then a re-run, gives exactly the store a clean run gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from assistant.config import Settings
from assistant.ingest import ingest

from .conftest import write_pdf
from .test_ingest import snapshot


def _make_corpus(root):
    for i in range(4):
        pages = [
            f"Report {i} page {p}\n\n" + " ".join(
                f"Finding {i}.{p}.{s}: partnerships between companies and agencies number {s * 7 + p} improved "
                f"victim identification in sector {s}." for s in range(12)
            )
            for p in range(1, 4)
        ]
        write_pdf(root / f"report-{i}.pdf", pages)


def _run_and_kill(corpus, store, kill_after_files: int, extra_delay: float) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "ingest", str(corpus), "--store", str(store)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env,
    )
    buf = b""
    deadline = time.time() + 240
    target = f"| {kill_after_files}/".encode()
    while time.time() < deadline and proc.poll() is None:
        b = proc.stderr.read1(256) if hasattr(proc.stderr, "read1") else proc.stderr.read(1)
        if not b:
            break
        buf += b
        if target in buf:
            time.sleep(extra_delay)
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, buf.decode(errors="replace")[-2000:]


@pytest.mark.slow
def test_sigkill_then_rerun_equals_clean_run(tmp_path):
    corpus = tmp_path / "corpus"
    _make_corpus(corpus)
    clean = Settings(store_dir=tmp_path / "clean", chroma_host=None)
    assert ingest([corpus], clean, progress=False).ok

    crashed = Settings(store_dir=tmp_path / "crashed", chroma_host=None)
    _run_and_kill(corpus, crashed.store_dir, kill_after_files=1, extra_delay=0.0)
    _run_and_kill(corpus, crashed.store_dir, kill_after_files=1, extra_delay=0.4)
    rep = ingest([corpus], crashed, progress=False)
    assert rep.ok
    assert rep.skipped, "files committed before the kill are not redone"
    assert snapshot(crashed) == snapshot(clean)
