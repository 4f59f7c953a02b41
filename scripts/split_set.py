#!/usr/bin/env python3
"""Split an evaluation set into a tuning half and a held-out test half.

Usage: python scripts/split_set.py evals/fresh.jsonl --seed 20261202 --test-share 0.5

Items are shuffled with random.Random(seed), stratified by kind (unanswerable,
follow-up, other), so each half gets about the same share of every kind. Writes
<stem>-tune.jsonl and <stem>-test.jsonl beside the input, each with its own header
(name <stem>-tune / <stem>-test, the same corpus path). Standard library only.
"""
import argparse
import json
import random
import sys
from pathlib import Path


def kind(item):
    if not item.get("answerable", True) or "unanswerable" in item.get("tags", []):
        return "unanswerable"
    if item.get("history") or "follow-up" in item.get("tags", []):
        return "follow-up"
    return "other"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set", type=Path, help="JSONL set (optional header line with a 'set' key)")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--test-share", type=float, default=0.5)
    args = ap.parse_args(argv)
    if not 0 < args.test_share < 1:
        ap.error("--test-share must be between 0 and 1")

    header, items = {}, []
    for n, line in enumerate(args.set.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        obj = json.loads(line)
        if "set" in obj and n == 1:
            header = obj["set"]
        else:
            items.append(obj)

    rng = random.Random(args.seed)
    strata = {}
    for item in items:
        strata.setdefault(kind(item), []).append(item)
    test_ids = set()
    for name in sorted(strata):
        group = list(strata[name])
        rng.shuffle(group)
        k = round(len(group) * args.test_share)
        test_ids.update(item["id"] for item in group[:k])

    stem = args.set.stem
    base = header.get("name", stem)
    for part in ("tune", "test"):
        chosen = [it for it in items if (it["id"] in test_ids) == (part == "test")]
        head = {k: v for k, v in header.items() if k not in ("name", "description")}
        head["name"] = f"{base}-{part}"
        head["description"] = (f"{'Tuning' if part == 'tune' else 'Held-out test'} half of {args.set.name} "
                               f"(scripts/split_set.py, seed {args.seed}, test share {args.test_share}, "
                               "stratified by unanswerable / follow-up / other).")
        out = args.set.with_name(f"{stem}-{part}.jsonl")
        with out.open("w", encoding="utf-8") as f:
            f.write(json.dumps({"set": head}, ensure_ascii=False) + "\n")
            for it in chosen:
                f.write(json.dumps(it, ensure_ascii=False) + "\n")
        counts = {}
        for it in chosen:
            counts[kind(it)] = counts.get(kind(it), 0) + 1
        print(f"{out}: {len(chosen)} items {dict(sorted(counts.items()))}", file=sys.stderr)


if __name__ == "__main__":
    main()
