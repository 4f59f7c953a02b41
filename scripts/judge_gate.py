"""Measure the local model as an answerability gate for the extractive reader.

For each question: the extractive answer (refused or not) and the judge's P(Yes) over the top
passages it was given. The gate refuses when P(Yes) < t. t is chosen on the TUNE sets only: the
largest number of unanswerable questions refused with no more wrong refusals than the reader
alone makes there (ties: the lowest t). Then both are reported on every set, with and without
the gate. Judgements are cached in OUT/judged.jsonl, so a re-run only re-scores.

    nice -n 10 .venv/bin/python scripts/judge_gate.py --tune ../shared/evals/dev.jsonl evals/fresh-tune.jsonl \
        --test evals/fresh-test.jsonl --corpus ../shared/corpus
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def judge_all(sets: list[Path], corpus: Path, out: Path, top: int, k: int, stop_at: float | None = None) -> list[dict]:
    """Each question's extractive answer and the judge's P(Yes), round robin over the sets (a stopped
    run still covers each), cached in OUT/judged.jsonl; stops asking new questions at ``stop_at``."""
    from assistant.chain import Assistant
    from assistant.evaluation.questions import load_sets
    from assistant.evaluation.runner import _ingest, eval_settings
    from assistant.judge_local import LocalJudge

    cache = out / "judged.jsonl"
    done = {}
    if cache.is_file():
        for line in cache.read_text().splitlines():
            r = json.loads(line)
            done[(r["set"], r["id"])] = r
    settings = eval_settings(corpus, None, "extractive")
    _ingest(corpus, settings, prune=True, progress=False)
    bot = Assistant(settings, backend="extractive")
    judge = None
    rows = []
    # unanswerable questions first in each set: the rarer kind, so a stopped run still has them
    queues = [[(qs.name, q) for q in sorted(qs.questions, key=lambda q: q.answerable)] for qs in load_sets(sets)]
    order = [qu[i] for i in range(max(map(len, queues), default=0)) for qu in queues if i < len(qu)]
    with cache.open("a") as f:
        for name, q in order:
            key = (name, q.id)
            if key in done:
                rows.append(done[key])
                continue
            if stop_at is not None and time.monotonic() > stop_at:
                print(f"judge_gate: time is up; {len(rows)} questions judged", file=sys.stderr)
                break
            judge = judge or LocalJudge()
            history: list[tuple[str, str]] = []
            for earlier in q.history:  # a dialogue, asked in order as the evaluation runner does
                history.append((earlier, bot.ask(earlier, history=list(history), k=k).text))
            ans = bot.ask(q.question, history=history, k=k)
            question = ans.standalone_question or q.question
            passages = [h.chunk.text for h in ans.hits[:top]]
            t0 = time.perf_counter()
            # the gate refuses what the reader refuses whatever the judge says: no need to ask it
            p = None if ans.refused else judge.p_yes(question, passages)
            row = {"set": name, "id": q.id, "answerable": q.answerable, "refused": ans.refused,
                   "p_yes": p, "judge_ms": (time.perf_counter() - t0) * 1000}
            f.write(json.dumps(row) + "\n")
            f.flush()
            rows.append(row)
            print(f"{name} {q.id} answerable={q.answerable} refused={ans.refused} p_yes={p}", file=sys.stderr)
    return rows


def rates(rows: list[dict], t: float | None) -> dict:
    """Refusal rates without (t None) or with the gate at t."""
    def refused(r):
        return r["refused"] or (t is not None and r["p_yes"] is not None and r["p_yes"] < t)

    ans = [r for r in rows if r["answerable"]]
    unans = [r for r in rows if not r["answerable"]]
    return {
        "refused_unanswerable": sum(map(refused, unans)),
        "n_unanswerable": len(unans),
        "wrong_refusals": sum(map(refused, ans)),
        "n_answerable": len(ans),
    }


def choose_threshold(tune: list[dict]) -> float | None:
    base = rates(tune, None)
    best, best_refused = None, base["refused_unanswerable"]
    for t in sorted({r["p_yes"] for r in tune if r["p_yes"] is not None} | {1.0}):  # gate refuses p_yes < t
        r = rates(tune, t)
        if r["wrong_refusals"] <= base["wrong_refusals"] and r["refused_unanswerable"] > best_refused:
            best, best_refused = t, r["refused_unanswerable"]
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tune", nargs="+", type=Path, required=True)
    ap.add_argument("--test", nargs="*", type=Path, default=[])
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    ap.add_argument("--top", type=int, default=3, help="passages shown to the judge")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--out", type=Path, default=REPO / "evals" / "runs" / "judge-gate")
    ap.add_argument("--first", nargs=2, type=int, metavar=("ANSWERABLE", "UNANSWERABLE"),
                    help="only the first N answerable and M unanswerable questions of each set (slow machines)")
    ap.add_argument("--threads", type=int, help="llama.cpp threads (sets ASSISTANT_LLM_THREADS; 1 is fastest on busy cores)")
    ap.add_argument("--max-minutes", type=float, help="stop judging new questions after this long (figures cover what was judged)")
    args = ap.parse_args(argv)
    if args.threads:
        os.environ["ASSISTANT_LLM_THREADS"] = str(args.threads)
    stop_at = time.monotonic() + args.max_minutes * 60 if args.max_minutes else None
    args.out.mkdir(parents=True, exist_ok=True)
    if args.first:
        from eval_local import subset  # scripts/ is on sys.path when this file runs

        args.tune = [subset(p, *args.first, args.out / "subsets") for p in args.tune]
        args.test = [subset(p, *args.first, args.out / "subsets") for p in args.test]

    rows = judge_all(args.tune + args.test, args.corpus, args.out, args.top, args.k, stop_at)
    from assistant.evaluation.questions import load_sets

    tune_names = {qs.name for qs in load_sets(args.tune)}
    tune = [r for r in rows if r["set"] in tune_names]
    t = choose_threshold(tune)
    report = {"threshold": t, "top": args.top, "sets": {}}
    for name in dict.fromkeys(r["set"] for r in rows):
        sub = [r for r in rows if r["set"] == name]
        report["sets"][name] = {"tune": name in tune_names, "without": rates(sub, None), "with": rates(sub, t),
                                "judge_ms_mean": sum(r["judge_ms"] for r in sub if r["p_yes"] is not None) / max(1, sum(r["p_yes"] is not None for r in sub)),
                                "n_judged": sum(r["p_yes"] is not None for r in sub)}
    (args.out / "gate.json").write_text(json.dumps(report, indent=2))
    print(f"threshold (chosen on {', '.join(sorted(tune_names))}): {t}")
    for name, s in report["sets"].items():
        w, g = s["without"], s["with"]
        print(f"{name}{' (tune)' if s['tune'] else ''}: unanswerable refused {w['refused_unanswerable']}/{w['n_unanswerable']}"
              f" -> {g['refused_unanswerable']}/{g['n_unanswerable']}; wrong refusals {w['wrong_refusals']}/{w['n_answerable']}"
              f" -> {g['wrong_refusals']}/{g['n_answerable']}; judge asked {s['n_judged']} (the reader answered them),"
              f" {s['judge_ms_mean'] / 1000:.1f} s each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
