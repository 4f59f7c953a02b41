"""Answer with a chat model: fenced passages in, cited and checked answer out.

The work is one LCEL runnable, ``ANSWER_PROMPT | chat_model | StrOutputParser()``; what the
model writes is then cleaned by :func:`verify.cite` (bad markers removed, citations renumbered);
the chain's verifier (:func:`verify.verify_answer`) then judges every sentence, as it does for
every backend.

Streaming yields the model's raw text deltas as they arrive, then the final ``Answer``;
``answer`` streams too, so ``timings_ms["first_token_ms"]`` is known for every answer.
The final ``Answer.text`` can differ from the concatenated deltas: impossible markers are
removed and citations renumbered only once the whole answer is known, and an answer that
cites nothing becomes the refusal. Display the final ``Answer.text`` once it arrives.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from ..records import Answer, Hit
from .backends import BACKENDS, as_backend_error, endpoint_of, make_chat_model
from .base import REFUSAL_TEXT
from .prompts import ANSWER_PROMPT, CONDENSE_PROMPT, answer_inputs, history_messages
from .verify import cite, uncited


class LLMAnswerer:
    """The ``Answerer`` for any LangChain chat model (Ollama, OpenAI-compatible, llama.cpp, fakes)."""

    def __init__(
        self,
        chat_model: Any,
        name: str = "llm",
        embedder: Any = None,
    ):
        from langchain_core.output_parsers import StrOutputParser

        self.chat_model = chat_model
        self.name = name
        self.embedder = embedder  # the chain's verifier uses it for paraphrased sentences
        self.endpoint = endpoint_of(chat_model)
        self.chain = ANSWER_PROMPT | chat_model | StrOutputParser()

    # ----------------------------------------------------------------- Answerer protocol

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        """The final item of :meth:`stream`: streaming records the first token's latency for every caller."""
        final = None
        for part in self.stream(question, hits):
            if isinstance(part, Answer):
                final = part
        return final

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        if not hits:
            yield self._refusal(question, hits)
            return
        t0 = time.perf_counter()
        parts: list[str] = []
        timings: dict[str, float] = {}
        try:
            for delta in self.chain.stream(answer_inputs(question, hits)):
                if not delta:
                    continue
                if not parts:
                    timings["first_token_ms"] = _ms(t0)
                parts.append(delta)
                yield delta
        except Exception as exc:
            raise self._error(exc) from exc
        timings["llm_ms"] = _ms(t0)
        yield self._finish(question, hits, "".join(parts), timings)

    # ----------------------------------------------------------------- follow-ups

    def condense(self, question: str, history: Sequence[tuple[str, str]] | None) -> str:
        """Rewrite a follow-up into a standalone question using the chat history (one model call)."""
        if not history:
            return question
        from langchain_core.output_parsers import StrOutputParser

        chain = CONDENSE_PROMPT | self.chat_model | StrOutputParser()
        try:
            text = chain.invoke({"history": history_messages(history), "question": question})
        except Exception as exc:
            raise self._error(exc) from exc
        text = " ".join(text.strip().strip('"').split())
        return text or question

    # ----------------------------------------------------------------- internals

    def _finish(self, question: str, hits: list[Hit], raw: str, timings: dict[str, float]) -> Answer:
        """Clean markers and build citations; the chain's verifier then judges every sentence."""
        text, citations = cite(raw, hits, question)
        return Answer(
            question=question,
            text=text,
            citations=citations,
            refused=not citations,
            hits=list(hits),
            timings_ms=timings,
            backend=self.name,
            unsupported=[] if citations else uncited(raw),  # an answer citing nothing is refused
            raw=raw,
        )

    def _refusal(self, question: str, hits: list[Hit]) -> Answer:
        return Answer(question=question, text=REFUSAL_TEXT, refused=True, hits=list(hits), backend=self.name,
                      timings_ms={"llm_ms": 0.0})

    def _error(self, exc: BaseException) -> BaseException:
        return as_backend_error(exc, self.endpoint) or exc


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


_ANSWERER_OPTS = ("embedder",)


def get_llm_answerer(name: str, chat_model: Any = None, **opts: Any) -> LLMAnswerer:
    """Build the answerer for backend ``name`` (``ollama``, ``openai``, ``llamacpp``, ``fake``).

    ``name`` may carry the model after a colon (``ollama:qwen2.5:3b``). Options for the answerer
    (``embedder``, thresholds) are taken out; the rest (``model``, ``base_url``, ``api_key``,
    ``temperature``, ``responses`` for ``fake``, ...) go to :func:`backends.make_chat_model`.
    A ready ``chat_model`` skips the backend factory.
    """
    answerer_opts = {k: opts.pop(k) for k in _ANSWERER_OPTS if k in opts}
    backend, _, model = (name or "").partition(":")
    backend = backend.strip().lower()
    if model and backend in BACKENDS:
        opts.setdefault("model", model)
    if chat_model is None:
        chat_model = make_chat_model(backend, **{k: v for k, v in opts.items() if v is not None})
    return LLMAnswerer(chat_model, name=backend or "llm", **answerer_opts)
