"""Load test of the UI server: N concurrent gradio_client sessions, each asking its own question.

Builds a synthetic store (one PDF, one page per fictional region, each with its own number),
starts ``ui.py`` in a separate process, then fires N sessions at once (threads, one
``gradio_client.Client`` each) at the ``ask`` endpoint. Every answer is checked against the
question that was asked: the echoed ``standalone_question``, the cited page, and the number
in the answer. An answer that matches *another* session's question counts as mixed.

    .venv/bin/python benchmarks/bench_ui_load.py [--sessions 20] [--concurrency 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLACES = [
    "Arvenna", "Belmoor", "Caddonfell", "Dunmerrow", "Eskarth", "Fallowden", "Glenrith", "Hollisford",
    "Ismerwick", "Jarrowholt", "Kestermoor", "Lindenvale", "Marrowby", "Northwold", "Ostravel", "Pellingham",
    "Quillmarsh", "Rookhaven", "Sablecombe", "Thornwick", "Umberlee", "Varrowdale", "Wexcombe", "Yarrowfen",
]
FILLER = (
    "The regional report describes the coordination between police, labour inspectors and social services, "
    "and it lists the training courses, outreach visits and hotline campaigns of the year. "
)


def fact(i: int) -> tuple[str, int, int]:
    """(place, number of inspectors, year) for region ``i``: all distinct."""
    return PLACES[i], 100 + 37 * i, 2001 + i


def question(i: int) -> str:
    return f"How many labour inspectors did the regional task force in {PLACES[i]} train?"


def build_corpus(folder: Path, n: int) -> Path:
    import pymupdf

    doc = pymupdf.open()
    for i in range(n):
        place, count, year = fact(i)
        text = (f"{place} regional task force\n\n{FILLER}"
                f"In {place}, the regional task force trained {count} labour inspectors in {year}. "
                f"The inspectors of {place} then visited farms and construction sites. {FILLER}")
        page = doc.new_page(width=595, height=842)
        page.insert_textbox(pymupdf.Rect(56, 56, 539, 786), text, fontsize=11)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "regions.pdf"
    doc.save(path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    import httpx

    t = time.time()
    while time.time() - t < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the UI server exited with code {proc.returncode}")
        try:
            if httpx.get(url + "config", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the UI server did not answer at {url} within {timeout:.0f} s")


def check(i: int, out: dict, n: int) -> str:
    """'ok'; 'mixed' when the answer is to another session's question (the echoed question says
    which); 'wrong' when it is to this question but lacks its number or its page (answer quality)."""
    sq = out.get("standalone_question", "")
    if sq != question(i):
        return "mixed" if sq in {question(j) for j in range(n)} else "wrong"
    pages = {c.get("page") for c in out.get("citations") or []}
    return "ok" if str(fact(i)[1]) in out.get("answer", "") and i + 1 in pages else "wrong"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20, help="concurrent sessions (max %d)" % len(PLACES))
    ap.add_argument("--concurrency", type=int, default=None, help="server-side ASSISTANT_UI_CONCURRENCY")
    ap.add_argument("--timeout", type=float, default=300, help="per-request timeout (s)")
    ap.add_argument("--json", help="write the results here as JSON")
    args = ap.parse_args()
    n = min(args.sessions, len(PLACES))

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    tmp = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    sources, store = tmp / "sources", tmp / "store"
    build_corpus(sources, n)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if args.concurrency:
        env["ASSISTANT_UI_CONCURRENCY"] = str(args.concurrency)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", str(sources), "--store", str(store), "-q"],
                   check=True, cwd=REPO, env=env)
    print(f"ingested {n} pages in {time.perf_counter() - t:.1f} s", flush=True)

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, str(REPO / "ui.py"), "--port", str(port), "--store", str(store),
                             "--sources", str(sources)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        t = time.perf_counter()
        wait_up(url, proc)
        from gradio_client import Client

        def client() -> Client:
            return Client(url, verbose=False, analytics_enabled=False, download_files=False)

        client().predict("warm-up: how many inspectors were trained?", api_name="/ask")  # loads the model
        print(f"server up and warm in {time.perf_counter() - t:.1f} s", flush=True)

        results: list[dict] = [{} for _ in range(n)]
        barrier = threading.Barrier(n)

        def session(i: int) -> None:
            r = results[i]
            try:
                c = client()
                barrier.wait(timeout=120)
                t0 = time.perf_counter()
                job = c.submit(question(i), api_name="/ask")
                out = job.result(timeout=args.timeout)
                r["latency_s"] = time.perf_counter() - t0
                r["status"] = "lost" if not isinstance(out, dict) else check(i, out, n)
                if isinstance(out, dict):
                    r["cited_page"] = (out.get("citations") or [{}])[0].get("page")
                    r["server_ms"] = (out.get("timings_ms") or {}).get("total_ms")
            except TimeoutError:
                r["status"] = "lost"
            except Exception as e:  # noqa: BLE001
                r["status"], r["error"] = "error", f"{type(e).__name__}: {e}"

        t_all = time.perf_counter()
        threads = [threading.Thread(target=session, args=(i,)) for i in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t_all
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

    lat = sorted(r["latency_s"] for r in results if "latency_s" in r)
    srv = [r["server_ms"] for r in results if r.get("server_ms") is not None]
    counts = {s: sum(r.get("status") == s for r in results) for s in ("ok", "wrong", "mixed", "lost", "error")}

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, max(0, round(p * (len(lat) - 1))))] if lat else float("nan")

    summary = {
        "sessions": n,
        "server_concurrency": int(args.concurrency or 4),
        "wall_s": round(wall, 2),
        "p50_s": round(pct(0.50), 2),
        "p95_s": round(pct(0.95), 2),
        "max_s": round(lat[-1], 2) if lat else None,
        "mean_s": round(statistics.mean(lat), 2) if lat else None,
        "server_median_ms": round(statistics.median(srv), 1) if srv else None,
        **counts,
    }
    print(json.dumps(summary))
    print(f"{n} sessions: p50 {summary['p50_s']} s, p95 {summary['p95_s']} s, wall {summary['wall_s']} s "
          f"(server time per answer, median {summary['server_median_ms']} ms); "
          f"ok {counts['ok']}, wrong {counts['wrong']}, mixed {counts['mixed']}, lost {counts['lost']}, "
          f"errors {counts['error']}")
    for i, r in enumerate(results):
        if r.get("status") != "ok":
            print(f"  session {i} ({PLACES[i]}): {r.get('status')} {r.get('error', '')} cited page {r.get('cited_page')}")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "results": results}, indent=1))
    return 0 if counts["mixed"] == counts["lost"] == counts["error"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
