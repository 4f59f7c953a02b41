"""Calibrate the answerability gate's strength floor by k-fold cross-validation, and ablate its rules.

    python scripts/calibrate_gate.py ../shared/evals/dev.jsonl evals/fresh-tune.jsonl evals/ci-shared.jsonl \
        --corpus ../shared/corpus [--folds 5] [--seed 20261202]

Never pass the held-out test split: thresholds are chosen on tuning sets only. Each question is
retrieved once (dialogues ask their history first, as `assistant eval` does); then, for each fold,
the floor is chosen on the other folds (the highest floor whose refusal minus false-refusal rate
equals the best: the most protection against off-topic questions that costs the training folds
nothing) and scored on the held-out fold. Prints per-fold figures, the floor over all questions,
and each rule's effect when it alone is switched off, per set.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

FLOORS = [round(0.30 + 0.025 * i, 3) for i in range(17)]  # 0.30 .. 0.70


KNOWN = None  # the library's word shares (``LexicalIndex.share``), as the chain gives the gate


def rates(rows, floor: float, rules) -> tuple[float, float]:
    from assistant.answerability import assess

    def refused(ask, hits) -> bool:
        return not assess(ask, hits, min_strength=floor, rules=rules, known=KNOWN).answerable

    refused_un = [refused(ask, hits) for q, ask, hits in rows if not q.answerable]
    refused_an = [refused(ask, hits) for q, ask, hits in rows if q.answerable]
    mean = lambda xs: sum(xs) / len(xs) if xs else 0.0  # noqa: E731
    return mean(refused_un), mean(refused_an)


def best_floor(rows, rules) -> float:
    scored = [(round(r - f, 6), floor) for floor in FLOORS for r, f in [rates(rows, floor, rules)]]
    top = max(s for s, _ in scored)
    return max(floor for s, floor in scored if s == top)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20261202)
    args = ap.parse_args(argv)
    if any("test" in Path(s).stem for s in args.sets):
        print("refusing to calibrate on a test split", file=sys.stderr)
        return 2

    from assistant.answerability import RULES
    from assistant.chain import Assistant, Turn
    from assistant.evaluation.questions import load_sets
    from assistant.evaluation.runner import _ingest, eval_settings
    from assistant.intent import read_question

    corpus = Path(args.corpus)
    settings = eval_settings(corpus, None, None)
    _ingest(corpus, settings, prune=True, progress=False)
    global KNOWN
    bot = Assistant(settings)
    rows = []
    for qs in load_sets(args.sets):
        for q in qs.questions:
            history: list[tuple[str, str]] = []
            for earlier in q.history:
                history.append((earlier, bot.ask(earlier, history=list(history)).text))
            turn = bot.prepare().invoke(Turn(bot.query(q.question, history)))
            rows.append((q, read_question(turn.query.text), turn.hits))
    KNOWN = bot.known()

    rng = random.Random(args.seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    folds = [[rows[i] for i in order[f :: args.folds]] for f in range(args.folds)]
    print("fold  n  floor  refused(unanswerable)  refused(answerable)")
    for f, held in enumerate(folds):
        train = [r for g, fold in enumerate(folds) if g != f for r in fold]
        floor = best_floor(train, RULES)
        r, w = rates(held, floor, RULES)
        n_un = sum(not q.answerable for q, _, _ in held)
        print(f"{f + 1:>4} {len(held):>3}  {floor:.3f}  {r:.3f} (of {n_un})  {w:.3f} (of {len(held) - n_un})")
    floor = best_floor(rows, RULES)
    r, w = rates(rows, floor, RULES)
    print(f"all  {len(rows)}  {floor:.3f}  {r:.3f}  {w:.3f}")

    print("\nrule switched off -> refused(unanswerable) / refused(answerable), per set, at that floor")
    names = sorted({q.set_name for q, _, _ in rows})
    print("rule        " + "  ".join(f"{n:>22}" for n in names))
    for rule in ["(none off)", *sorted(RULES)]:
        rules = RULES if rule == "(none off)" else RULES - {rule}
        cells = []
        for n in names:
            part = [row for row in rows if row[0].set_name == n]
            un = sum(not q.answerable for q, _, _ in part)
            r, w = rates(part, floor, rules)
            cells.append(f"{round(r * un)}/{un} {round(w * (len(part) - un))}/{len(part) - un}".rjust(22))
        print(f"{rule:<12}" + "  ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
