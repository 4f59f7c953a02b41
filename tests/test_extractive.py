"""The extractive answerer on hand-made passages with the real embedding model: tables, answerability."""

from __future__ import annotations

from assistant.answerers.extractive import ExtractiveAnswerer, units
from assistant.records import Chunk, Hit

TABLE = (
    "Immigration Status of Likely Victims - Labor ONLY\n\n"
    "Form of Trafficking | 2020 | 2021 | % Change\n"
    "Domestic (USC/LPR) | 86 | 2% | 100 | 3% | 9%\n"
    "Foreign National | 2510 | 71% | 2754 | 73% | 3%\n"
    "Unknown | 957 | 27% | 931 | 25% | -9%"
)
SUMMARY = (
    "2021 Data Tables Summary\n\nThis report presents 2021 data from the National Human Trafficking Hotline. "
    "Please refer to the relevant tables for more detailed information on a particular topic."
)


def hits(*texts: str, title: str = "Analysis of 2021 Data from the National Human Trafficking Hotline") -> list[Hit]:
    out = []
    for i, text in enumerate(texts, 1):
        c = Chunk(chunk_id=f"c{i}", doc_id="d", file="hotline.pdf", title=title, text=text, page_start=i + 1,
                  page_end=i + 1, page_label=str(i), section="", start=0, end=len(text), index=i)
        out.append(Hit(chunk=c, score=1.0 / i, rank=i))
    return out


def test_table_rows_read_with_their_title_and_keep_their_own_span():
    got = units(TABLE)
    row = next(u for u in got if "Foreign National" in u[2])
    s, e, text = row
    assert TABLE[s:e] == "Foreign National | 2510 | 71% | 2754 | 73% | 3%"
    assert text.startswith("Immigration Status of Likely Victims - Labor ONLY: Foreign National")
    plain = next(u for u in got if u[2].startswith("Immigration"))
    assert TABLE[plain[0]:plain[1]] == plain[2]  # ordinary lines are their own text


def test_a_table_answers_a_share_question_and_the_citation_highlights_the_row(embedder):
    ans = ExtractiveAnswerer(embedder=embedder).answer(
        "What share of likely labor trafficking victims in 2021 were foreign nationals?", hits(SUMMARY, TABLE)
    )
    assert not ans.refused
    assert "73%" in ans.text and "Foreign National" in ans.text
    cit = next(c for c in ans.citations if c.chunk_id == "c2")
    assert "Foreign National | 2510" in cit.text[cit.span[0]:cit.span[1]]
    assert cit.page == 3


def test_near_miss_is_refused_with_what_the_passages_lack(embedder):
    ans = ExtractiveAnswerer(embedder=embedder).answer(
        "What share of likely labor trafficking victims in Kenya were foreign nationals?", hits(SUMMARY, TABLE)
    )
    assert ans.refused and "do not answer" in ans.text and "“Kenya”" in ans.text
    assert all(not c.supported for c in ans.citations)  # listed as closest, not as support
    ans = ExtractiveAnswerer(embedder=embedder).answer(
        "How many likely victims did the Hotline identify in 2022 alone?",
        hits("From January 2020-August 2022 the Hotline identified 42,887 likely victims in 26,872 situations."),
    )
    assert ans.refused and "2022 on its own" in ans.text
