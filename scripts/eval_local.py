"""`make eval-local`: the same question sets through --backend extractive and --backend local, side by side.

Each question goes through the evaluation runner's ``ask_all`` (same chain, same scoring as
`assistant eval`), one at a time, and each backend's records are written to OUT/<backend>/results.jsonl
as they come, with what the model read and wrote in OUT/<backend>/raw.jsonl (``scripts/rescore_local.py``
rescores a run from it with a changed verifier);
OUT/comparison.md and comparison.json put the headline figures per set next to each other, with
time to first token (from each answer's timings) and three answers verbatim. Needs the local
extra and `assistant models fetch`; run it with `nice`: ~7 s a question on 2 idle cores, ~30 s with
``--threads 1`` on cores other jobs share (more threads were 3-6x slower there).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROWS = [
    ("answerable asked", "n_answerable", "{}"),
    ("unanswerable asked", "n_unanswerable", "{}"),
    ("fact recall", "fact_recall", "{:.2f}"),
    ("citation precision", "citation_precision", "{:.2f}"),
    ("citation support", "citation_support", "{:.2f}"),
    ("refused unanswerable", "refusal_rate_unanswerable", "{:.2f}"),
    ("false refusals", "false_refusal_rate", "{:.2f}"),
    ("latency p50 (s)", "latency_ms_p50", "ms"),
    ("latency p95 (s)", "latency_ms_p95", "ms"),
    ("first token p50 (s)", "first_token_ms_p50", "ms"),
    ("first token p95 (s)", "first_token_ms_p95", "ms"),
]


def default_sets() -> list[Path]:
    cands = [REPO.parent / "shared" / "evals" / "dev.jsonl", REPO / "evals" / "fresh-test.jsonl"]
    return [p for p in cands if p.is_file()]


def subset(path: Path, answerable: int, unanswerable: int, out_dir: Path) -> Path:
    """The set's header plus its first ``answerable`` / ``unanswerable`` questions, as OUT_DIR/<same name>.

    For a slow machine: an LLM on 2 busy cores can take minutes a question. The file keeps its
    name (and so its set name), so figures stay comparable with a full run's per-set table.
    """
    keep, counts = [], {True: 0, False: 0}
    limits = {True: answerable, False: unanswerable}
    for line in path.read_text().splitlines():
        row = json.loads(line) if line.strip() else None
        if row is None:
            continue
        if "set" in row and "question" not in row:
            keep.append(line)
        elif counts[bool(row["answerable"])] < limits[bool(row["answerable"])]:
            counts[bool(row["answerable"])] += 1
            keep.append(line)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / path.name
    out.write_text("\n".join(keep) + "\n")
    return out


def figures(records: list[dict], set_name: str) -> dict:
    from assistant.evaluation.metrics import aggregate, percentile

    recs = [r for r in records if r["set"] == set_name]
    out = aggregate(recs)
    first = [r["timings_ms"]["first_token_ms"] for r in recs if "first_token_ms" in r.get("timings_ms", {})]
    out["first_token_ms_p50"] = percentile(first, 50)
    out["first_token_ms_p95"] = percentile(first, 95)
    return out


def _cell(value, fmt: str) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.1f}" if fmt == "ms" else fmt.format(value)


def comparison_markdown(table: dict, samples: list[dict], backends: list[str]) -> str:
    lines = []
    for set_name, per_backend in table.items():
        lines += [f"### {set_name}", "",
                  "| metric | " + " | ".join(backends) + " |", "| --- |" + " --- |" * len(backends)]
        for label, key, fmt in ROWS:
            lines.append(f"| {label} | " + " | ".join(_cell(per_backend.get(b, {}).get(key), fmt) for b in backends) + " |")
        lines.append("")
    lines += ["### Answers verbatim", ""]
    for s in samples:
        lines.append(f"**{s['id']}** {s['question']}")
        for b in backends:
            lines.append(f"- {b}: {s[b]!r}")
        lines.append("")
    return "\n".join(lines)


def pick_samples(runs: dict[str, list[dict]], backends: list[str], n: int = 3) -> list[dict]:
    """The first ``n`` answerable questions the last backend answered (not refused), each backend's text."""
    last = runs[backends[-1]]
    by_id = {b: {(r["set"], r["id"]): r for r in runs[b]} for b in backends}
    chosen = [r for r in last if r["answerable"] and not r["refused"]][:n]
    return [{"id": r["id"], "question": r["question"], **{b: by_id[b][(r["set"], r["id"])]["answer"] for b in backends}}
            for r in chosen]


def ask_sets(sets: list[Path], corpus: Path, backend: str, k: int, out: Path, stop_at: float | None) -> list[dict]:
    """Each question through the evaluation runner's own ``ask_all``, one at a time, each record
    appended to OUT/results.jsonl as it is scored: a slow model's run keeps what it finished."""
    from assistant.chain import Assistant
    from assistant.evaluation.questions import load_sets
    from assistant.evaluation.rawlog import raw_line
    from assistant.evaluation.runner import _ingest, ask_all, eval_settings

    settings = eval_settings(corpus, None, backend)
    _ingest(corpus, settings, prune=True, progress=False)
    bot = Assistant(settings, backend=backend)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    with (out / "results.jsonl").open("w") as f, (out / "raw.jsonl").open("w") as raw_f:
        def keep_raw(q, answer, latency_ms):
            raw_f.write(json.dumps(raw_line(q.set_name, q.id, answer, latency_ms, k)) + "\n")
            raw_f.flush()

        queues = [list(qs.questions) for qs in load_sets(sets)]
        order = [qu[i] for i in range(max(map(len, queues), default=0)) for qu in queues if i < len(qu)]
        for q in order:  # round robin over the sets, so a stopped run still covers each
            if stop_at is not None and time.monotonic() > stop_at:
                print(f"eval-local: time is up; {backend} answered {len(records)} questions", file=sys.stderr)
                return records
            rec = ask_all(bot, [q], k=k, progress=False, warmup=False, on_answer=keep_raw)[0]
            f.write(json.dumps(rec) + "\n")
            f.flush()
            records.append(rec)
            print(f"  {backend} {q.id}: {rec['latency_ms'] / 1000:.1f} s, refused={rec['refused']}", file=sys.stderr)
    return records


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="*", type=Path, help="question sets (default: ../shared/evals/dev.jsonl, evals/fresh-test.jsonl)")
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    ap.add_argument("--backends", default="extractive,local")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--out", type=Path, default=REPO / "evals" / "runs" / "local-vs-extractive")
    ap.add_argument("--max-minutes", type=float, help="stop asking after this long per run (the figures cover what was asked)")
    ap.add_argument("--first", nargs=2, type=int, metavar=("ANSWERABLE", "UNANSWERABLE"),
                    help="only the first N answerable and M unanswerable questions of each set (slow machines)")
    ap.add_argument("--threads", type=int, help="llama.cpp threads (sets ASSISTANT_LLM_THREADS; 1 is fastest on busy cores)")
    args = ap.parse_args(argv)
    if args.threads:
        os.environ["ASSISTANT_LLM_THREADS"] = str(args.threads)

    sets = args.sets or default_sets()
    if not sets or not args.corpus.is_dir():
        print(f"eval-local: needs the question sets and the corpus (looked for {args.corpus}); nothing to do",
              file=sys.stderr)
        return 2
    if args.first:
        sets = [subset(p, *args.first, args.out / "subsets") for p in sets]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    runs = {}
    stop_at = time.monotonic() + args.max_minutes * 60 if args.max_minutes else None
    for b in backends:
        print(f"eval-local: --backend {b} on {', '.join(map(str, sets))}", file=sys.stderr)
        runs[b] = ask_sets(sets, args.corpus, b, args.k, args.out / b, stop_at)
    write_comparison(runs, backends, args.out, "comparison")
    return 0


def write_comparison(runs: dict[str, list[dict]], backends: list[str], folder: Path, stem: str) -> None:
    """The per-set table of each backend's figures and sample answers: ``folder/stem.json`` and
    ``.md``, printed too (``eval_local`` writes "comparison", ``rescore_local`` "rescored")."""
    table: dict = {}
    for b in backends:
        for name in dict.fromkeys(r["set"] for r in runs[b]):
            table.setdefault(name, {})[b] = figures(runs[b], name)
    samples = pick_samples(runs, backends) if backends else []
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.json").write_text(json.dumps({"table": table, "samples": samples}, indent=2))
    md = comparison_markdown(table, samples, backends)
    (folder / f"{stem}.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    sys.exit(main())
