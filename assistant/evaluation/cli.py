"""``assistant eval``: run question sets, or compare two runs (``assistant eval compare A B``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import AssistantError
from .report import TABLE_METRICS, fmt

EPILOG = """examples:
  assistant eval evals/ci-shared.jsonl                 # corpus and thresholds from the set header
  assistant eval evals/osce-survey-2021.jsonl --backend ollama --json
  assistant eval evals/ci-shared.jsonl --baseline      # also score the plain LangChain pipeline
  assistant eval compare evals/runs/20250101-120000 evals/runs/20250102-090000
exit status: 0 ok, 1 a threshold was missed, 2 error."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval",
        help="evaluate question sets, or compare two runs",
        description="Ask every question of the sets, score retrieval, answers, citations and refusals, "
        "and write results.jsonl, metrics.json and report.html into a new run folder.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sets", nargs="+", metavar="SET", help="question sets (.jsonl or .yaml); or: compare RUN_A RUN_B")
    p.add_argument("--corpus", metavar="DIR", help="corpus folder (default: the one named in each set's header)")
    p.add_argument("--store", metavar="DIR", help="store to use (default: a store dedicated to the corpus)")
    p.add_argument("--backend", metavar="NAME", help="answerer backend (default: ASSISTANT_BACKEND or extractive)")
    p.add_argument("--k", type=int, default=5, metavar="N", help="passages given to the answerer, as in `ask --k` (default 5); the chain always retrieves at least 10, which are scored")
    p.add_argument("--out", default="evals/runs", metavar="DIR", help="where run folders go (default: evals/runs)")
    p.add_argument("--json", action="store_true", help="print one JSON object with the metrics")
    p.add_argument("--baseline", action="store_true", help="also score the plain LangChain tutorial pipeline")
    p.add_argument("--judge", metavar="NAME", help="LLM judge for faithfulness/relevancy: BACKEND[:MODEL], e.g. ollama:llama3.1 (never in CI)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def summary_text(summary: dict[str, Any], baseline: dict[str, Any] | None = None) -> str:
    lines = [f"{'metric':<28} {'assistant':>10}" + (f" {'baseline':>10}" if baseline else "")]
    for key, label in TABLE_METRICS:
        if key not in summary and not (baseline and key in baseline):
            continue
        row = f"{label:<28} {fmt(summary.get(key), key):>10}"
        if baseline:
            row += f" {fmt(baseline.get(key), key):>10}"
        lines.append(row)
    for t in summary.get("thresholds", []):
        op = "<=" if t["kind"] == "max" else ">="
        lines.append(
            f"threshold {t.get('set', '')}: {t['metric']} {fmt(t['value'], t['metric'])} {op} {t['bound']}: {'pass' if t['passed'] else 'FAIL'}"
        )
    lines.append(f"report: {summary['run_dir']}/report.html")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        if args.sets[0] == "compare":
            if len(args.sets) != 3:
                print("error: usage: assistant eval compare RUN_A RUN_B", file=sys.stderr)
                return 2
            from .compare import compare_text

            print(compare_text(args.sets[1], args.sets[2]))
            return 0

        from .runner import run_eval

        judge = None
        if args.judge:
            from .judge import make_judge_model

            judge = make_judge_model(args.judge)
        result = run_eval(
            args.sets,
            corpus=args.corpus,
            store=args.store,
            backend=args.backend,
            k=args.k,
            out_dir=args.out,
            progress=not args.no_progress,
            baseline=args.baseline,
            judge=judge,
            judge_name=args.judge or "",
        )
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(summary_text(summary, summary.get("baseline")))
    return result.status


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m assistant.evaluation``) until the main CLI wires ``eval``."""
    parser = argparse.ArgumentParser(prog="assistant")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["eval", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)
