"""Citation markers in answer text: parse, renumber, strip, and split an answer into its sentences.

A model writes markers in many forms ("[1]", "[1, 2]", "[1-3]", "[Passage 2]"); the rest of the
assistant only ever sees clean ``[n]`` markers numbered 1..m in order of first use.
"""

from __future__ import annotations

import re

# "[1]", "[1, 2]", "[1;2]", "[1-3]", "[Passage 2]", "[source 1, 3]"; runs like "[1][2]" are handled together.
_GROUP = (
    r"\[(?:(?:passage|source|doc(?:ument)?)\s*)?"
    r"(\d+(?:\s*(?:[,;]|-|–|and)\s*(?:(?:passage|source)\s*)?\d+)*)\]"
)
_MARKER = re.compile(_GROUP, re.IGNORECASE)
_MARKER_RUN = re.compile(rf"[ \t]*{_GROUP}(?:[ \t]*{_GROUP})*", re.IGNORECASE)
CLEAN_MARKER = re.compile(r"\[(\d+)\]")
_SENT_END = re.compile(r"([.!?]+[\"'”’)]*)[ \t]+(?=[\"'“‘(\[]?[A-Z0-9])")
# list bullets at the start of a line: "-", "•", "1.", "2)", "iv.", "(ii)", "a)"
_LINE_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|\(?(?:[ivx]{1,4}|[a-h])[.)])\s+")
# a roman-numeral item inside a line, after a sentence end or a lead-in: "... include: i. Poverty [1]. ii. Debt [2]."
_INLINE_ROMAN = re.compile(r"(?<=[.:;!?\]])[ \t]+\(?[ivx]{1,4}[.)][ \t]+(?=\S)")
_TOKEN_BEFORE = re.compile(r"(\S+)$")
_LEAD_MARKERS = re.compile(r"(?:\[\d+\]\s*)+")


def _expand(group: str) -> list[int]:
    nums: list[int] = []
    for part in re.split(r"\s*(?:[,;]|and)\s*", group):
        part = re.sub(r"(?i)passage|source", "", part).strip()
        m = re.fullmatch(r"(\d+)\s*[-–]\s*(\d+)", part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            nums.extend(range(a, b + 1) if 0 < b - a < 20 else [a, b])
        elif part.isdigit():
            nums.append(int(part))
    return nums


def renumber(text: str, n_passages: int) -> tuple[str, list[int]]:
    """Drop markers citing no passage and renumber the rest by first appearance.

    Returns the rewritten text (markers as ``[1][2]``) and ``order``: ``order[i]`` is the
    1-based passage number that new citation ``i + 1`` refers to.
    """
    order: list[int] = []
    for m in _MARKER.finditer(text):
        for n in _expand(m.group(1)):
            if 1 <= n <= n_passages and n not in order:
                order.append(n)
    new_of = {old: i + 1 for i, old in enumerate(order)}

    def sub(run: re.Match) -> str:
        nums: list[int] = []
        for m in _MARKER.finditer(run.group(0)):
            for n in _expand(m.group(1)):
                if n in new_of and new_of[n] not in nums:
                    nums.append(new_of[n])
        if not nums:  # drop the run with the blank before it: "care [7]." -> "care."
            return ""
        lead = run.group(0)[: len(run.group(0)) - len(run.group(0).lstrip(" \t"))]
        return lead + "".join(f"[{n}]" for n in nums)

    out = _MARKER_RUN.sub(sub, text)
    out = re.sub(r"(\[\d+\])(?=\w)", r"\1 ", out)  # "[1]Next" -> "[1] Next"
    out = re.sub(r"[ \t]+\n", "\n", out)
    return out.strip(), order


def cited_numbers(sentence: str) -> list[int]:
    """The ``[n]`` markers of a sentence, in order, each once."""
    return list(dict.fromkeys(int(m.group(1)) for m in CLEAN_MARKER.finditer(sentence)))


def strip_markers(text: str) -> str:
    """The sentence without its ``[n]`` markers: "Foo [1][2]." -> "Foo."."""
    return re.sub(r"\s*\[\d+\]", "", text).strip()


def answer_sentences(text: str) -> list[str]:
    """Split an answer into sentences, keeping each sentence's trailing markers with it.

    "A [1]. B. [2] C [3]." gives ["A [1].", "B. [2]", "C [3]."]: a marker run that follows a
    full stop belongs to the sentence before it. Lines and list items (roman-numeral items
    inside a line too) are separate sentences; "U.S. Department" is not a sentence end
    (``sentences.dot_ends_sentence``), "U.S. [1]" is.
    """
    out: list[str] = []
    for line in _INLINE_ROMAN.sub("\n", text).splitlines():
        line = _LINE_BULLET.sub("", line).strip()  # list bullets are not content
        if not line:
            continue
        pieces, start = [], 0
        for m in _SENT_END.finditer(line):
            if not _ends_here(line, m):
                continue
            pieces.append(line[start : m.end(1)])
            start = m.end()
        pieces.append(line[start:])
        for piece in pieces:
            piece = piece.strip()
            lead = re.match(r"(?:\[\d+\]\s*)+", piece)
            if lead and out:
                out[-1] = out[-1] + " " + lead.group(0).strip()
                piece = piece[lead.end() :].strip()
            if piece:
                out.append(piece)
    return out


def _ends_here(line: str, m: re.Match) -> bool:
    """Whether the candidate end ``m`` of ``_SENT_END`` ends a sentence: a "." after an abbreviation may not."""
    from ..sentences import dot_ends_sentence

    if m.group(1).rstrip("\"'”’)") != ".":
        return True
    after = line[m.end() :]
    if _LEAD_MARKERS.match(after):  # a marker after the dot: the model ended its sentence there
        return True
    token = _TOKEN_BEFORE.search(line[: m.start(1)])
    return token is None or dot_ends_sentence(token.group(1).lstrip("\"'“‘([{"), after)
