"""OnnxEncoder: the ONNX Runtime encoder must give sentence-transformers' vectors, be built once and cached,
refuse models it cannot run, and keep torch out of the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import assistant  # noqa: F401  (sets HF_HUB_OFFLINE etc. before sentence-transformers loads)
from assistant.errors import LoadError
from assistant.onnx_encoder import OnnxEncoder, bundled_model_path, cache_file, ensure_built

REPO = Path(__file__).resolve().parents[1]

TEXTS = [
    "hello",
    "",
    "What are the main recruitment methods used by traffickers?",
    "Human trafficking in Ukraine — données, 日本語, Ελληνικά, emoji 🙂, café naïve",
    "UPPER case and lower case SHOULD embed the same for an uncased model.",
    "Article 4 of the Council of Europe Convention (2005) defines 'trafficking in human beings'.",
    " ".join(f"token{i}" for i in range(400)),  # far beyond 256 word pieces: truncated
    "The victims were recruited through online job adverts promising work abroad. " * 12,
    "Sexual exploitation, forced labour and forced begging remain the most reported forms.",
]


@pytest.fixture(scope="module")
def enc() -> OnnxEncoder:
    return OnnxEncoder()


@pytest.fixture(scope="module")
def reference():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(bundled_model_path()), device="cpu")


@pytest.mark.slow  # loads sentence-transformers (torch)
def test_matches_sentence_transformers(enc, reference):
    ours = enc.encode(TEXTS)
    ref = reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert enc.precision == "fp32"
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * ref).sum(axis=1).min() >= 0.9999
    assert np.abs(ours - ref).max() < 1e-4


@pytest.mark.slow  # a second one-time build (~10-20 s) and torch
def test_int8_is_built_on_request_and_stays_close(reference):
    """The benchmarked int8 option: its own cache entry, vectors near (not equal to) fp32's."""
    int8 = OnnxEncoder(precision="int8")
    assert int8.graph == cache_file(bundled_model_path(), "int8") != cache_file(bundled_model_path())
    ours = int8.encode(TEXTS)
    cos = (ours * reference.encode(TEXTS, normalize_embeddings=True)).sum(axis=1)
    assert 0.95 <= cos.min() and cos.mean() < 0.9999, cos  # measured 0.979-0.996 on corpus passages
    with pytest.raises(ValueError):
        OnnxEncoder(precision="int4")


def test_batching_and_order_do_not_change_results(enc):
    whole = enc.encode(TEXTS, batch_size=64)
    np.testing.assert_allclose(enc.encode(TEXTS[::-1], batch_size=3)[::-1], whole, atol=1e-6)
    np.testing.assert_allclose(enc.encode([TEXTS[2]])[0], whole[2], atol=1e-6)
    assert float(whole[2] @ whole[8]) < 0.99  # distinct texts, distinct vectors, in input order


def test_long_text_is_truncated_to_max_seq_length(enc):
    base = " ".join(f"word{i}" for i in range(300))
    assert len(enc.tokenize([base])[0]) == enc.max_seq_length == 256
    a, b = enc.encode([base + " alpha", base + " omega"])
    np.testing.assert_allclose(a, b, atol=1e-6)  # the differing tail lies past the cut


def test_metadata_and_edge_inputs(enc):
    assert enc.dimension == 384
    assert enc.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        enc.encode("a single string")
    with pytest.raises(TypeError):
        enc.encode(["ok", None])  # type: ignore[list-item]


def test_built_once_and_cached(enc):
    graph = cache_file(bundled_model_path())
    assert enc.graph == graph and graph.is_file()
    assert "ort" in graph.name and graph.parent.name == "onnx"
    before = graph.stat().st_mtime_ns
    assert ensure_built(bundled_model_path()) == graph and graph.stat().st_mtime_ns == before  # no rebuild
    assert not [p for p in graph.parent.iterdir() if p.name.startswith(".build-")]  # no leftovers


# ---------------------------------------------------------------- model folder validation


def _copy_model(tmp_path: Path, name: str = "my-minilm") -> Path:
    """A copy of the bundled folder whose JSON files can be edited (weights are symlinked)."""
    src, dst = bundled_model_path(), tmp_path / name
    for item in src.rglob("*"):
        target = dst / item.relative_to(src)
        if item.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if item.suffix == ".json":
            target.write_text(item.read_text(encoding="utf-8"), encoding="utf-8")
        else:
            target.symlink_to(item)
    return dst


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "changes", "message"),
    [
        ("config.json", {"model_type": "roberta"}, "model_type 'roberta'"),
        ("1_Pooling/config.json", {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, "only mean"),
    ],
)
def test_unsupported_architectures_are_refused(tmp_path, file, changes, message):
    folder = _copy_model(tmp_path)
    _edit_json(folder / file, **changes)
    assert not OnnxEncoder.supports(folder)
    with pytest.raises(LoadError, match=message) as err:
        OnnxEncoder(folder)
    assert str(folder / file) in str(err.value)


def test_extra_modules_and_missing_folders_are_refused(tmp_path):
    folder = _copy_model(tmp_path)
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    assert not OnnxEncoder.supports(folder)
    assert OnnxEncoder.supports(None) and OnnxEncoder.supports(bundled_model_path())
    with pytest.raises(LoadError, match="model folder not found"):
        OnnxEncoder("/nonexistent/model")


@pytest.mark.slow  # a real one-time build (~10-20 s) into an empty cache, as on a fresh machine
def test_fresh_cache_builds_offline_without_torch_in_the_caller(tmp_path):
    code = (
        "import sys\n"
        "from assistant.onnx_encoder import OnnxEncoder\n"
        "e = OnnxEncoder()\n"
        "v = e.encode(['what is forced labour?'])\n"
        "assert v.shape == (1, 384)\n"
        "print(e.graph)\n"
        "print(','.join(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules) or 'none')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "ASSISTANT_MODELS_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=True)
    graph, heavy = out.stdout.strip().splitlines()[-2:]
    assert Path(graph).parent == tmp_path / "onnx" and Path(graph).is_file()
    assert heavy == "none"  # the build ran in a child process
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=True)
    assert again.stdout.strip().splitlines()[-2] == graph
