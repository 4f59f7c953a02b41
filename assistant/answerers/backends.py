"""Chat-model backends: build a LangChain ``BaseChatModel`` from a backend name.

Every backend library is imported inside its builder, so picking ``ollama`` never imports
``openai`` and the extractive path imports none of them. Models are only *built* here; no
backend contacts a server until it is invoked, so connection problems surface at answer
time, where :func:`as_backend_error` turns them into one-line ``BackendError``\\ s.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from langchain_core.language_models import BaseChatModel

BACKENDS = ("ollama", "openai", "llamacpp", "local", "fake")
ANSWERERS = ("extractive", *(b for b in BACKENDS if b != "fake"))  # what users choose from (CLI, Settings)
DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
DEFAULT_OLLAMA_MODEL = "llama3.2"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
LLM_EXTRA_HINT = "install the llm extra: pip install 'assistant[llm]'"
LOCAL_EXTRA_HINT = "install the local extra: pip install 'assistant[local]' (builds llama.cpp, ~10 min)"


def make_chat_model(
    name: str,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    temperature: float = 0.0,
    **kw: Any,
) -> "BaseChatModel":
    """Return the chat model for backend ``name`` (ollama, openai, llamacpp, local, fake).

    Arguments win over the environment: ``ASSISTANT_LLM_MODEL``, ``ASSISTANT_LLM_BASE_URL`` /
    ``OPENAI_BASE_URL``, ``ASSISTANT_LLM_API_KEY`` / ``OPENAI_API_KEY``, ``OLLAMA_HOST``,
    ``ASSISTANT_LLM_MODEL_PATH``, ``ASSISTANT_LOCAL_MODEL``, ``ASSISTANT_LLM_THREADS`` (llama.cpp). Extra keyword arguments go to the LangChain class.
    """
    key = (name or "").strip().lower()
    builders = {"ollama": _ollama, "openai": _openai, "llamacpp": _llamacpp, "local": _local, "fake": _fake}
    if key not in builders:
        raise BackendError(f"unknown LLM backend {name!r}; choose one of: extractive, {', '.join(BACKENDS)}")
    return builders[key](model=model, base_url=base_url, api_key=api_key, temperature=temperature, **kw)


def endpoint_of(chat_model: Any) -> str:
    """Where ``chat_model`` sends its requests (URL or model file), for error messages."""
    for attr in ("openai_api_base", "base_url", "model_path"):
        value = getattr(chat_model, attr, None)
        if value:
            return str(value)
    if type(chat_model).__name__ == "ChatOpenAI":
        return "https://api.openai.com/v1"
    return type(chat_model).__name__


def _env(*names: str) -> str | None:
    for n in names:
        v = os.environ.get(n)
        if v:
            return v
    return None


def _require(module: str, backend: str, hint: str = LLM_EXTRA_HINT) -> None:
    if importlib.util.find_spec(module) is None:
        raise BackendError(f"the {backend} backend needs the Python package {module!r}; {hint}")


def _with_scheme(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    host_port = url.split("://", 1)[1]
    if host_port.startswith("0.0.0.0"):  # OLLAMA_HOST is often the *listen* address
        url = url.replace("0.0.0.0", "127.0.0.1", 1)
    if ":" not in host_port.split("/", 1)[0]:
        url += ":11434"
    return url


def _ollama(model, base_url, api_key, temperature, **kw):
    _require("langchain_ollama", "ollama")
    from langchain_ollama import ChatOllama

    url = _with_scheme(base_url or _env("OLLAMA_HOST") or DEFAULT_OLLAMA_URL)
    kw.setdefault("num_ctx", 8192)  # Ollama's small default context would truncate the passages
    return ChatOllama(
        model=model or _env("ASSISTANT_LLM_MODEL") or DEFAULT_OLLAMA_MODEL,
        base_url=url,
        temperature=temperature,
        **kw,
    )


def _openai(model, base_url, api_key, temperature, **kw):
    _require("langchain_openai", "openai")
    from langchain_openai import ChatOpenAI

    url = base_url or _env("ASSISTANT_LLM_BASE_URL", "OPENAI_BASE_URL")
    key = api_key or _env("ASSISTANT_LLM_API_KEY", "OPENAI_API_KEY")
    if not url and not key:
        raise BackendError(
            "the openai backend needs a server: set ASSISTANT_LLM_BASE_URL (an OpenAI-compatible server "
            "such as vLLM, llama.cpp or LM Studio) or ASSISTANT_LLM_API_KEY for the hosted API"
        )
    kw.setdefault("max_retries", 1)
    kw.setdefault("timeout", 120)
    return ChatOpenAI(
        model=model or _env("ASSISTANT_LLM_MODEL") or DEFAULT_OPENAI_MODEL,
        base_url=url,
        api_key=key or "not-needed",  # local servers ignore the key, but the client insists on one
        temperature=temperature,
        **kw,
    )


def _llamacpp(model, base_url, api_key, temperature, model_path=None, backend="llamacpp", hint=LLM_EXTRA_HINT, **kw):
    if importlib.util.find_spec("llama_cpp") is None:
        raise BackendError(f"the {backend} backend needs llama-cpp-python, which is not installed; {hint}")
    _require("langchain_community", backend, hint)
    path = model_path or (model if model and model.lower().endswith(".gguf") else None)
    path = path or _env("ASSISTANT_LLM_MODEL_PATH")
    if not path:
        raise BackendError("the llamacpp backend needs a GGUF model file: pass model_path or set ASSISTANT_LLM_MODEL_PATH")
    if not Path(path).is_file():
        raise BackendError(f"{path}: GGUF model file not found")
    from langchain_community.chat_models import ChatLlamaCpp

    kw.setdefault("n_ctx", 8192)
    kw.setdefault("max_tokens", 512)
    kw.setdefault("n_batch", 512)  # LangChain's default of 8 reads the prompt several times slower
    kw.setdefault("n_threads", llm_threads())
    kw.setdefault("verbose", False)
    try:
        return ChatLlamaCpp(model_path=str(path), temperature=temperature, **kw)
    except Exception as exc:  # llama.cpp raises ValueError for unreadable / incompatible files
        raise BackendError(f"{path}: could not load the model: {_one_line(exc)}") from exc


def llm_threads() -> int:
    """llama.cpp's thread count: ``ASSISTANT_LLM_THREADS``, else every core.

    On a machine whose cores other jobs share, one thread was 3-6x faster than two: llama.cpp's
    threads wait for each other at every layer, so one descheduled thread stalls them all.
    """
    value = _env("ASSISTANT_LLM_THREADS")
    if value:
        try:
            n = int(value)
        except ValueError:
            raise BackendError(f"ASSISTANT_LLM_THREADS must be a whole number of threads, not {value!r}") from None
        if n < 1:
            raise BackendError(f"ASSISTANT_LLM_THREADS must be at least 1, not {n}")
        return n
    return os.cpu_count() or 1


def local_model_path(model: str | None = None, model_path: str | None = None) -> Path:
    """The GGUF for ``--backend local``: a path given (``--model x.gguf``, ``ASSISTANT_LOCAL_MODEL``) or the fetched model."""
    from ..models import ModelError, installed_path, model_path as expected

    given = model_path or (model if model and model.lower().endswith(".gguf") else None) or _env("ASSISTANT_LOCAL_MODEL")
    if given:
        return Path(given)
    try:
        found = installed_path(model)
        if found is None:
            raise BackendError(
                f"the local model is not fetched yet (expected at {expected(model)}): run `assistant models fetch`"
            )
    except ModelError as exc:
        raise BackendError(str(exc)) from exc
    return found


def _local(model, base_url, api_key, temperature, model_path=None, **kw):
    """llama.cpp in-process on the model from `assistant models fetch` (or any GGUF path); short answers."""
    path = local_model_path(model, model_path)
    kw.setdefault("n_ctx", 4096)  # five 250-token passages and the rules fit with room to answer
    kw.setdefault("max_tokens", 200)  # one to three short sentences
    return _llamacpp(None, None, None, temperature, model_path=str(path), backend="local", hint=LOCAL_EXTRA_HINT, **kw)


def _fake(model, base_url, api_key, temperature, responses=None, **kw):
    """Canned replies, cycled, streamed character by character: for tests and demos without a server."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from .base import REFUSAL_TEXT

    if isinstance(responses, str):
        responses = [responses]
    return FakeListChatModel(responses=list(responses or [REFUSAL_TEXT]), **kw)


# --------------------------------------------------------------------------- errors

_CONNECT_ERRORS = {
    "APIConnectionError",
    "APITimeoutError",
    "ConnectError",
    "ConnectTimeout",
    "ReadTimeout",
    "TimeoutException",
    "ConnectionError",
    "RemoteProtocolError",
}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def as_backend_error(exc: BaseException, endpoint: str) -> BackendError | None:
    """The one-line ``BackendError`` for a failed model call, or None if ``exc`` is not a server problem."""
    if isinstance(exc, BackendError):
        return exc
    chain = list(_chain(exc))
    if any(_CONNECT_ERRORS & {k.__name__ for k in type(e).__mro__} for e in chain):
        root = chain[-1]
        return BackendError(f"LLM server at {endpoint} is not reachable: {_one_line(root)}")
    for e in chain:
        status = getattr(e, "status_code", None)
        if isinstance(status, int):  # openai.APIStatusError, ollama.ResponseError
            return BackendError(f"LLM server at {endpoint} returned HTTP {status}: {_one_line(e)}")
    return None
