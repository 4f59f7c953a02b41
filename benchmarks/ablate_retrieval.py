"""Retrieval ablation: each stage on and off over question sets, in one process, beside plain dense.

The corpus is ingested once (into the same store ``assistant eval`` uses for it); each
configuration is the same ``HybridRetriever`` with other settings, so the only difference
between two rows is the stage switched. ``plain dense`` is the tutorial pipeline of
``assistant eval --baseline`` (PyPDFLoader, 1000/200 characters, MiniLM, Chroma top 10),
measured in the same run. Page-level retrieval metrics over the answerable questions:

    .venv/bin/python benchmarks/ablate_retrieval.py [SET ...] [--corpus ../shared/corpus]
        [--only full,-bm25] [--chunk-tokens 120,300] [--json out.json]

Without sets it uses ../shared/evals/dev.jsonl and evals/fresh-{tune,test}.jsonl where present.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
METRICS = ("recall_at_1", "recall_at_5", "mrr")

# name -> retriever settings changed from the defaults (a leading "-" means that stage is off)
CONFIGS: dict[str, dict] = {
    "full": {},
    "-bm25": {"lexical_weight": 0.0},
    "bm25 x1": {"lexical_weight": 1.0},
    "bm25 x3": {"lexical_weight": 3.0},
    "rrf fusion": {"fusion": "rrf"},
    "minmax fusion": {"fusion": "minmax"},
    "-frame-free": {"frame_free": False},
    "-expand": {"expand_neighbours": False},
    "fetch 20": {"fetch_k": 20},
    "fetch 80": {"fetch_k": 80},
    "dense only": {"lexical_weight": 0.0, "frame_free": False, "expand_neighbours": False},
}


class CachedEmbedder:
    """The project's embedder with a per-text cache: configurations share their query vectors."""

    def __init__(self, inner):
        self.inner, self.cache = inner, {}

    def encode(self, texts: list[str], **kw):
        import numpy as np

        missing = [t for t in texts if t not in self.cache]
        if missing:
            for t, v in zip(missing, self.inner.encode(missing, **kw)):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts])


def default_sets() -> list[Path]:
    found = [SHARED / "evals" / "dev.jsonl", REPO / "evals" / "fresh-tune.jsonl", REPO / "evals" / "fresh-test.jsonl"]
    return [p for p in found if p.exists()]


def score_sets(search, sets) -> dict[str, dict]:
    """Retrieval aggregates per set for ``search(question) -> hits`` (top 10)."""
    from assistant.evaluation.metrics import aggregate, retrieval_scores
    from assistant.evaluation.runner import hits_to_passages
    from assistant.followup import standalone

    out = {}
    for qs in sets:
        records = []
        for q in qs.questions:
            if q.answerable:  # a follow-up is searched in its standalone form, as `ask` does without an LLM
                hits = search(standalone(q.question, [(h, "") for h in q.history]))
                records.append({"answerable": True, **retrieval_scores(hits_to_passages(hits), q.gold)})
        out[qs.name] = aggregate(records)
    return out


def ingested(corpus: Path, **settings):
    from assistant.evaluation.runner import eval_settings
    from assistant.ingest import ingest

    s = eval_settings(corpus, None, None)
    if settings:  # another chunking: a store of its own beside the evaluation one
        tag = "-".join(f"{k}{v}" for k, v in settings.items())
        s = s.with_(store_dir=s.store_dir.with_name(f"{s.store_dir.name}-{tag}"), **settings)
    ingest([corpus], s, progress=False, root=corpus)
    return s


def table(rows: dict[str, dict[str, dict]], set_names: list[str]) -> str:
    head = "| configuration | " + " | ".join(f"{n} r@1 / r@5 / MRR" for n in set_names) + " |"
    lines = [head, "|---" * (len(set_names) + 1) + "|"]
    for name, per_set in rows.items():
        cells = []
        for n in set_names:
            m = per_set.get(n) or {}
            cells.append(" / ".join("—" if m.get(k) is None else f"{m[k]:.2f}" for k in METRICS))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="*", type=Path)
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    ap.add_argument("--only", default="", help="comma-separated configuration names (default: all)")
    ap.add_argument("--chunk-tokens", default="", help="also run 'full' on stores chunked at these target sizes")
    ap.add_argument("--latency", action="store_true", help="also time warm retrieval with the default settings")
    ap.add_argument("--no-baseline", action="store_true", help="skip the plain dense pipeline")
    ap.add_argument("--json", type=Path, help="write the numbers here too")
    ap.add_argument("--baseline-cache", type=Path, help="reuse the plain dense results stored here (same corpus and sets)")
    args = ap.parse_args(argv)

    from assistant.chain import Assistant
    from assistant.evaluation.baseline import baseline_records
    from assistant.evaluation.questions import load_sets

    sets = load_sets([str(p) for p in (args.sets or default_sets())])
    names = [qs.name for qs in sets]
    configs = {n: CONFIGS[n] for n in args.only.split(",") if n} if args.only else CONFIGS
    rows: dict[str, dict[str, dict]] = {}

    bot = Assistant(ingested(args.corpus))
    retriever = bot.retriever
    retriever.embedder = CachedEmbedder(retriever.embedder)
    defaults = {f: getattr(retriever, f) for c in CONFIGS.values() for f in c}
    timings = []
    for name, change in configs.items():
        for f, v in {**defaults, **change}.items():
            setattr(retriever, f, v)
        t = time.perf_counter()
        rows[name] = score_sets(lambda q: retriever.search(q, k=10), sets)
        timings.append((name, time.perf_counter() - t))
        print(f"{name}: {timings[-1][1]:.1f}s", file=sys.stderr)
    for f, v in defaults.items():
        setattr(retriever, f, v)

    if args.latency:  # warm retrieve as `ask` does it (top 10), query embedding included
        retriever.embedder = retriever.embedder.inner
        times = []
        for q in [q for qs in sets for q in qs.questions]:
            t = time.perf_counter()
            bot.retrieve(q.question, k=10)
            times.append((time.perf_counter() - t) * 1000)
        print(f"warm retrieve (default settings, {len(times)} questions): median {statistics.median(times):.0f} ms, max {max(times):.0f} ms")

    for size in [int(x) for x in args.chunk_tokens.split(",") if x]:
        other = Assistant(ingested(args.corpus, chunk_target_tokens=size, chunk_max_tokens=size + size // 4)).retriever
        other.embedder = retriever.embedder
        rows[f"chunks {size} tokens"] = score_sets(lambda q: other.search(q, k=10), sets)

    if args.baseline_cache and args.baseline_cache.exists():
        rows["plain dense (tutorial)"] = json.loads(args.baseline_cache.read_text())
    elif not args.no_baseline:
        base = baseline_records([q for qs in sets for q in qs.questions], args.corpus, k=10, progress=False)
        rows["plain dense (tutorial)"] = base["per_set"]
        if args.baseline_cache:
            args.baseline_cache.write_text(json.dumps(base["per_set"]))

    print(table(rows, names))
    if args.json:
        args.json.write_text(json.dumps({"sets": names, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
