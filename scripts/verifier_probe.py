"""How many half-invented sentences the verifier keeps, next to how many reference sentences it keeps.

A small model often states a supported clause and glues its own gloss on ("..., which shows that
..."); the sentence's overall share of content words found in the passage can still pass. This
probe measures that without a model:

- reference sentences: each sentence of a set's reference answers (written by people from the
  gold pages), checked as if it cited its gold page text (the verifier must keep these);
- invented variants: the first half of each reference sentence, joined as a model joins a gloss
  (", which", ", and", "; ", ", while", " because", " so that", " to ensure that"), to the second half of a
  reference sentence from another document, its numbers dropped so that only the word test can
  catch it (the verifier should remove these);
- misread figures: each reference sentence with a figure (years aside), that figure replaced by
  another figure of the same kind (count or share) printed on the same gold page, as a model
  reads the wrong number off the page (the verifier should remove these).

Prints kept / total for both, lexically and with the embedding rescue (as the chain runs it).

    nice -n 10 .venv/bin/python scripts/verifier_probe.py ../shared/evals/dev.jsonl evals/fresh-tune.jsonl
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JOINS = [", which", ", and", ";", ", while", " because", " so that", " to ensure that"]


def reference_sentences(sets: list[Path], corpus: Path) -> list[tuple[str, str, str]]:
    """(sentence, gold page text, gold file) for every reference-answer sentence with gold text."""
    from assistant.answerers.markers import answer_sentences
    from assistant.evaluation.questions import load_sets
    from assistant.evaluation.report import GoldPageText

    pages = GoldPageText(None, corpus)
    out = []
    for qs in load_sets(sets):
        for q in qs.questions:
            if not q.answerable or not q.answer or not q.gold:
                continue
            text = "\n".join(t for g in q.gold for p in g.pages if (t := pages(g.file, p)))
            if text:
                out += [(s, text, q.gold[0].file) for s in answer_sentences(q.answer) if len(s.split()) >= 6]
    return out


def halves(sentence: str) -> tuple[str, str]:
    words = sentence.rstrip(".").split()
    mid = len(words) // 2
    return " ".join(words[:mid]), " ".join(words[mid:])


def invented(refs: list[tuple[str, str, str]], seed: int = 7) -> list[tuple[str, str]]:
    """(variant, the page it claims to come from) for each reference sentence."""
    rng = random.Random(seed)
    out = []
    for i, (sent, page, file) in enumerate(refs):
        others = [r for r in refs if r[2] != file]
        head = halves(sent)[0].rstrip(",;:( ")
        _, tail = halves(rng.choice(others)[0])
        tail = " ".join(w for w in tail.split() if not re.search(r"\d", w))
        out.append((f"{head}{JOINS[i % len(JOINS)]} {tail}.", page))
    return out


def misread(refs: list[tuple[str, str, str]], seed: int = 7) -> list[tuple[str, str]]:
    """(variant, page) for each reference sentence with a figure: the figure swapped for another of the page's."""
    from assistant.terms import figure_contexts

    rng = random.Random(seed)
    out = []
    for sent, page, _ in refs:
        mine = figure_contexts(sent, 0)
        if not mine:
            continue
        (n, pct) = sorted(mine)[0]
        others = sorted(f for f in figure_contexts(page, 0) if f[1] == pct and f[0] not in {m for m, _ in mine})
        if not others:
            continue
        m = rng.choice(others)[0]
        plain = sent.replace(f"{int(n):,}", n) if n.isdigit() else sent  # "16,554" as written -> "16554"
        swapped = re.sub(rf"(?<![\d.,]){re.escape(n)}(?!\d)", m, plain, count=1)
        if swapped != sent:
            out.append((swapped, page))
    return out


def kept(pairs: list[tuple[str, str]], embedder) -> int:
    from assistant.answerers.verify import check_sentences

    return sum(check_sentences([f"{s} [1]"], [page], embedder)[0].supported for s, page in pairs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="*", type=Path,
                    default=[REPO.parent / "shared" / "evals" / "dev.jsonl", REPO / "evals" / "fresh-tune.jsonl"])
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    ap.add_argument("--show", type=int, default=0, help="print this many kept invented variants")
    args = ap.parse_args(argv)

    from assistant.embeddings import get_embedder

    refs = reference_sentences(args.sets, args.corpus)
    fakes = invented(refs)
    misreads = misread(refs)
    ref_pairs = [(s, page) for s, page, _ in refs]
    print(f"{len(refs)} reference sentences from {', '.join(p.name for p in args.sets)}")
    for label, emb in (("lexical only", None), ("with the embedder", get_embedder())):
        print(f"{label}: reference kept {kept(ref_pairs, emb)}/{len(refs)}, invented kept {kept(fakes, emb)}/{len(fakes)}, "
              f"misread figures kept {kept(misreads, emb)}/{len(misreads)}")
    if args.show:
        from assistant.answerers.verify import check_sentences

        shown = [s for s, page in fakes if check_sentences([f"{s} [1]"], [page])[0].supported][: args.show]
        print("\n".join(f"  kept: {s}" for s in shown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
