"""Rescore an `eval_local.py` run with today's verifier and metrics, without asking the model again.

A local model's run takes an hour here; what follows the model (citation clean-up, repair,
verification, scoring) takes seconds. For each backend folder of the run, every record whose
answer came from a model is rebuilt from OUT/<backend>/raw.jsonl (``assistant.evaluation.rawlog``);
the others (gate refusals, the extractive reader) are kept as scored. Writes
OUT/<backend>/rescored.jsonl and OUT/rescored.md / rescored.json, in eval_local's table.

    nice -n 10 .venv/bin/python scripts/rescore_local.py evals/runs/local-vs-extractive
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_local import REPO, default_sets, write_comparison  # noqa: E402


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def rescore_backend(folder: Path, questions: dict, k: int, embedder) -> tuple[list[dict], int]:
    """(records rescored where a model wrote them, how many were rebuilt)."""
    from assistant.evaluation.rawlog import rescore

    raws = {(r["set"], r["id"]): r for r in read_jsonl(folder / "raw.jsonl")}
    out, rebuilt = [], 0
    for rec in read_jsonl(folder / "results.jsonl"):
        key = (rec["set"], rec["id"])
        line = raws.get(key)
        if line is not None and line.get("asked_model") and key in questions:
            rec = rescore(line, questions[key], rec, k=k, embedder=embedder)
            rebuilt += 1
        out.append(rec)
    return out, rebuilt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, nargs="?", default=REPO / "evals" / "runs" / "local-vs-extractive")
    ap.add_argument("--sets", nargs="*", type=Path, help="the run's question sets (default: eval_local's)")
    ap.add_argument("--backends", default="extractive,local")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--no-embedder", action="store_true", help="verify lexically only (the chain uses the embedder)")
    args = ap.parse_args(argv)

    from assistant.evaluation.questions import load_sets

    sets = args.sets or default_sets()
    subsets = args.run / "subsets"
    if subsets.is_dir():  # a --first run asked the subsets: same names, same questions
        sets = [subsets / p.name if (subsets / p.name).is_file() else p for p in sets]
    questions = {(q.set_name, q.id): q for qs in load_sets(sets) for q in qs.questions}
    embedder = None
    if not args.no_embedder:
        from assistant.config import Settings
        from assistant.embeddings import get_embedder

        embedder = get_embedder(Settings())
    backends = [b.strip() for b in args.backends.split(",") if (args.run / b.strip() / "results.jsonl").is_file()]
    runs = {}
    for b in backends:
        runs[b], rebuilt = rescore_backend(args.run / b, questions, args.k, embedder)
        print(f"rescore: {b}: {len(runs[b])} records, {rebuilt} rebuilt from the model's raw text", file=sys.stderr)
        with (args.run / b / "rescored.jsonl").open("w") as f:
            for r in runs[b]:
                f.write(json.dumps(r) + "\n")
    write_comparison(runs, backends, args.run, "rescored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
