"""Compare two run folders: metric deltas and the questions whose outcome changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import LoadError
from .metrics import aggregate
from .report import TABLE_METRICS, fmt

# Metrics where lower is better (a negative delta is an improvement).
LOWER_IS_BETTER = {"false_refusal_rate", "latency_ms_p50", "latency_ms_p95"}
# Metrics with no better direction: answer length is bounded (a median of at most 120 words), not maximised.
NEUTRAL = {"n", "answer_words_p50"}


def load_run(run_dir: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    d = Path(run_dir)
    mpath, rpath = d / "metrics.json", d / "results.jsonl"
    for p in (mpath, rpath):
        if not p.is_file():
            raise LoadError(str(p), "not found: is this an evaluation run folder?")
    try:
        metrics = json.loads(mpath.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise LoadError(str(mpath), f"invalid JSON ({e.msg})") from None
    records = []
    for n, line in enumerate(rpath.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise LoadError(f"{rpath}:{n}", f"invalid JSON ({e.msg})") from None
    return metrics, records


def metric_deltas(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, label in TABLE_METRICS:
        va, vb = a.get(key), b.get(key)
        if va is None and vb is None:
            continue
        delta = vb - va if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None
        better = None
        if delta and key not in NEUTRAL:
            better = (delta < 0) if key in LOWER_IS_BETTER else (delta > 0)
        rows.append({"metric": key, "label": label, "a": va, "b": vb, "delta": delta, "better": better})
    return rows


def _outcome(r: dict[str, Any]) -> dict[str, Any]:
    hit5 = r.get("recall_at_5")
    return {
        "recall@5": None if hit5 is None else ("hit" if hit5 >= 1 else "miss"),
        "refused": bool(r.get("refused")),
        "fact_recall": r.get("fact_recall"),
    }


def changed_questions(ra: list[dict[str, Any]], rb: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Questions (matched by set and id) whose recall@5 hit, refusal or fact recall differs."""
    a = {(r.get("set"), r.get("id")): r for r in ra}
    out = []
    for r in rb:
        key = (r.get("set"), r.get("id"))
        if key not in a:
            continue
        oa, ob = _outcome(a[key]), _outcome(r)
        changes = {}
        for name in oa:
            x, y = oa[name], ob[name]
            same = (x == y) if not isinstance(x, float) or not isinstance(y, float) else abs(x - y) < 1e-9
            if not same:
                changes[name] = (x, y)
        if changes:
            out.append({"set": key[0], "id": key[1], "question": r.get("question", ""), "changes": changes, "answerable": r.get("answerable")})
    return out


def _cell(v: Any, key: str) -> str:
    if isinstance(v, float) and key != "fact_recall":
        return fmt(v, key)
    if isinstance(v, float):
        return f"{v:.2f}"
    if isinstance(v, bool):
        return "refused" if v else "answered"
    return "—" if v is None else str(v)


def compare_text(run_a: str | Path, run_b: str | Path) -> str:
    """A plain-text comparison of two runs (B relative to A)."""
    ma, ra = load_run(run_a)
    mb, rb = load_run(run_b)
    a_keys = {(r.get("set"), r.get("id")) for r in ra}
    b_keys = {(r.get("set"), r.get("id")) for r in rb}
    lines = [f"A: {run_a}", f"B: {run_b}"]
    if a_keys == b_keys:
        oa, ob = ma.get("overall", {}), mb.get("overall", {})
    else:  # compare like with like: recompute both over the questions the runs share
        common = a_keys & b_keys
        oa = aggregate([r for r in ra if (r.get("set"), r.get("id")) in common])
        ob = aggregate([r for r in rb if (r.get("set"), r.get("id")) in common])
        lines.append(
            f"question sets differ ({len(a_keys - b_keys)} only in A, {len(b_keys - a_keys)} only in B): "
            f"metrics over the {len(common)} questions in both"
        )
    rows = metric_deltas(oa, ob)
    w = max([len(r["label"]) for r in rows] + [6])
    lines += ["", f"{'metric':<{w}}  {'A':>9}  {'B':>9}  {'B-A':>9}"]
    for r in rows:
        d = r["delta"]
        if d is None:
            ds = "—"
        elif r["metric"].startswith("latency") or r["metric"] == "n":
            ds = f"{d:+.0f}"
        else:
            ds = f"{d:+.3f}"
        mark = "" if r["better"] is None else ("  better" if r["better"] else "  worse")
        lines.append(f"{r['label']:<{w}}  {fmt(r['a'], r['metric']):>9}  {fmt(r['b'], r['metric']):>9}  {ds:>9}{mark}")
    changed = changed_questions(ra, rb)
    lines += ["", f"Questions whose outcome changed: {len(changed)}"]
    for c in changed:
        desc = "; ".join(f"{k} {_cell(x, k)} -> {_cell(y, k)}" for k, (x, y) in c["changes"].items())
        q = c["question"] if len(c["question"]) <= 80 else c["question"][:77] + "..."
        lines.append(f"  {c['set']}/{c['id']}: {desc}  | {q}")
    return "\n".join(lines)
