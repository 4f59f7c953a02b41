"""FastEncoder must reproduce sentence-transformers' embeddings without importing torch."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import assistant  # noqa: F401  (sets HF_HUB_OFFLINE etc. before sentence-transformers loads)
from assistant.errors import LoadError
from assistant.fast_encoder import FastEncoder, bundled_model_path, gelu_

REPO = Path(__file__).resolve().parents[1]

TEXTS = [
    "hello",
    "",
    "   ",
    "What are the main recruitment methods used by traffickers?",
    "Human trafficking in Ukraine — données, 日本語, Ελληνικά, emoji 🙂, café naïve",
    "UPPER case and lower case SHOULD embed the same for an uncased model.",
    "Article 4 of the Council of Europe Convention (2005) defines 'trafficking in human beings'.",
    " ".join(f"token{i}" for i in range(400)),  # far beyond 256 word pieces: truncated
    "The victims were recruited through online job adverts promising work abroad. " * 12,
    "a",
    "Sexual exploitation, forced labour and forced begging remain the most reported forms.",
]


@pytest.fixture(scope="module")
def fast() -> FastEncoder:
    return FastEncoder()


@pytest.fixture(scope="module")
def reference():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(bundled_model_path()), device="cpu")


def _assert_close(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cos.min() >= 0.9999, cos
    assert np.abs(a - b).max() < 1e-4


@pytest.mark.slow  # loads sentence-transformers (torch)
def test_matches_sentence_transformers(fast, reference):
    ours = fast.encode(TEXTS)
    ref = reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    _assert_close(ours, ref)


def test_batching_and_order_do_not_change_results(fast):
    whole = fast.encode(TEXTS, batch_size=64)  # one mixed-length (masked) batch
    singles = fast.encode(TEXTS, batch_size=1)  # one unpadded sequence at a time
    np.testing.assert_allclose(whole, singles, atol=1e-5)
    reversed_ = fast.encode(TEXTS[::-1], batch_size=3)
    np.testing.assert_allclose(reversed_[::-1], whole, atol=1e-5)
    # distinct texts give distinct vectors in the input order
    assert float(whole[3] @ whole[10]) < 0.99


def test_long_text_is_truncated_to_max_seq_length(fast):
    base = " ".join(f"word{i}" for i in range(300))
    assert len(fast.tokenize([base])[0]) == fast.max_seq_length == 256
    a, b = fast.encode([base + " alpha", base + " omega"])
    np.testing.assert_allclose(a, b, atol=1e-6)  # the differing tail lies past the cut


@pytest.mark.slow  # loads sentence-transformers (torch)
def test_custom_max_seq_length_matches_reference(fast, reference):
    short = FastEncoder(max_seq_length=16)
    texts = TEXTS[3:6] + TEXTS[7:9]
    old = reference.max_seq_length
    reference.max_seq_length = 16
    try:
        ref = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    finally:
        reference.max_seq_length = old
    ours = short.encode(texts)
    _assert_close(ours, ref)
    assert not np.allclose(ours[3], fast.encode([texts[3]])[0], atol=1e-3)  # truncation really happened


def test_metadata_and_edge_inputs(fast):
    assert fast.dimension == 384
    assert fast.name == "all-MiniLM-L6-v2"
    assert fast.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        fast.encode("a single string")
    with pytest.raises(TypeError):
        fast.encode(["ok", None])  # type: ignore[list-item]


def test_gelu_matches_erf_definition():
    xs = np.linspace(-12, 12, 240_001, dtype=np.float32)
    ref = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in xs.astype(np.float64)])
    got = gelu_(xs.copy())
    assert np.abs(got - ref).max() < 1e-6
    big = np.random.default_rng(0).standard_normal((70, 1000)).astype(np.float32)  # several blocks
    ref_big = 0.5 * big * (1 + np.vectorize(math.erf)(big.astype(np.float64) / math.sqrt(2)))
    assert np.abs(gelu_(big.copy()) - ref_big).max() < 1e-6


# ---------------------------------------------------------------- model folder validation


def _copy_model(tmp_path: Path, name: str = "my-minilm") -> Path:
    """A copy of the bundled folder whose JSON files can be edited (weights are symlinked)."""
    src, dst = bundled_model_path(), tmp_path / name
    dst.mkdir()
    for item in src.rglob("*"):
        target = dst / item.relative_to(src)
        if item.is_dir():
            target.mkdir(exist_ok=True)
        elif item.suffix == ".json":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item.read_text(encoding="utf-8"), encoding="utf-8")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(item)
    return dst


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_other_folder_with_same_architecture_loads(tmp_path, fast):
    folder = _copy_model(tmp_path)
    assert FastEncoder.supports(folder)
    enc = FastEncoder(str(folder))
    assert enc.name == "my-minilm"
    np.testing.assert_allclose(enc.encode(["a query"]), fast.encode(["a query"]), atol=1e-6)


def test_supports_bundled_and_rejects_missing():
    assert FastEncoder.supports(None)
    assert FastEncoder.supports(bundled_model_path())
    assert not FastEncoder.supports("/nonexistent/model")
    with pytest.raises(LoadError, match="model folder not found"):
        FastEncoder("/nonexistent/model")


@pytest.mark.parametrize(
    ("file", "changes", "message"),
    [
        ("config.json", {"model_type": "roberta"}, "model_type 'roberta'"),
        ("config.json", {"hidden_act": "gelu_new"}, "hidden_act 'gelu_new'"),
        ("config.json", {"position_embedding_type": "relative_key"}, "position_embedding_type"),
        ("1_Pooling/config.json", {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, "only mean"),
    ],
)
def test_unsupported_architectures_are_refused(tmp_path, file, changes, message):
    folder = _copy_model(tmp_path)
    _edit_json(folder / file, **changes)
    assert not FastEncoder.supports(folder)
    with pytest.raises(LoadError, match=message) as err:
        FastEncoder(str(folder))
    assert str(folder / file) in str(err.value)


def test_extra_modules_are_refused(tmp_path):
    folder = _copy_model(tmp_path)
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    assert not FastEncoder.supports(folder)
    with pytest.raises(LoadError, match="module pipeline"):
        FastEncoder(str(folder))


def test_wrong_weight_shapes_are_refused(tmp_path):
    folder = _copy_model(tmp_path)
    _edit_json(folder / "config.json", num_hidden_layers=7)  # the file only has 6 layers
    assert FastEncoder.supports(folder)  # JSON looks fine; the weights tell otherwise
    with pytest.raises(LoadError, match="missing tensor 'encoder.layer.6"):
        FastEncoder(str(folder))


# ---------------------------------------------------------------- the reason it exists


def test_fresh_process_does_not_import_torch():
    code = (
        "import sys\n"
        "from assistant.fast_encoder import FastEncoder\n"
        "v = FastEncoder().encode(['what is forced labour?'])\n"
        "assert v.shape == (1, 384)\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
    assert out.stdout.strip() == "none"


def test_blas_threading_is_restored_and_workers_do_not_change_results(fast):
    import threadpoolctl

    ctl = threadpoolctl.ThreadpoolController().select(internal_api="openblas")
    before = [lib.num_threads for lib in ctl.lib_controllers]
    many = FastEncoder(threads=3).encode(TEXTS, batch_size=4)  # several batches, 3 workers
    assert [lib.num_threads for lib in ctl.lib_controllers] == before  # pinned only during encode
    one = FastEncoder(threads=1).encode(TEXTS, batch_size=4)
    np.testing.assert_allclose(many, one, atol=1e-5)
    np.testing.assert_allclose(many, fast.encode(TEXTS), atol=1e-5)
