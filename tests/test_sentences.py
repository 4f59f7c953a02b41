"""Sentence spans: abbreviations, numbers, layout (bullets, tables, headings) and exact offsets."""

from __future__ import annotations

import time

import pytest

from assistant.chunker import split_sentences as reexported
from assistant.sentences import split_sentences


def sents(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def check_spans(text: str) -> None:
    """Spans are ordered, disjoint, stripped, and together hold every non-space character."""
    spans = split_sentences(text)
    pos = 0
    for a, b in spans:
        assert pos <= a < b <= len(text)
        assert not text[pos:a].strip(), f"text lost between spans: {text[pos:a]!r}"
        assert not text[a].isspace() and not text[b - 1].isspace()
        pos = b
    assert not text[pos:].strip()


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Dr. Smith met officials of the U.S. Department of State. They agreed.",
            ["Dr. Smith met officials of the U.S. Department of State.", "They agreed."],
        ),
        (
            "Some forms, e.g. forced begging, rose. Others, i.e. forced criminality, fell. Victims (e.g., men) were few.",
            ["Some forms, e.g. forced begging, rose.", "Others, i.e. forced criminality, fell.", "Victims (e.g., men) were few."],
        ),
        (
            "OSCE participating States (e. g. Austria) reported. Smith et al. (2020) agree. See Art. 3 and para. 4 of Convention No. 29. Fig. 67 shows it.",
            [
                "OSCE participating States (e. g. Austria) reported.",
                "Smith et al. (2020) agree.",
                "See Art. 3 and para. 4 of Convention No. 29.",
                "Fig. 67 shows it.",
            ],
        ),
        (
            "About 43.5% of victims were women. Some 1.2 million were children. In 2020. 43 cases followed.",
            ["About 43.5% of victims were women.", "Some 1.2 million were children.", "In 2020.", "43 cases followed."],
        ),
        (
            "The study by J. K. Rowling and T. Smith ended. Then it was published.",
            ["The study by J. K. Rowling and T. Smith ended.", "Then it was published."],
        ),
        (
            "The goods came from the U.S. The report says so. Acme Inc. The firm replied. Acme Inc. Polaris replied.",
            ["The goods came from the U.S.", "The report says so.", "Acme Inc.", "The firm replied.", "Acme Inc. Polaris replied."],
        ),
        (
            'He waited... Then he left. It went on... and on. She said "Stop." Then left. (This is bracketed.) Next!',
            ["He waited...", "Then he left.", "It went on... and on.", 'She said "Stop."', "Then left.", "(This is bracketed.)", "Next!"],
        ),
        (
            "Is it trafficking? “Yes,” she said. Who knows?! Nobody.",
            ["Is it trafficking?", "“Yes,” she said.", "Who knows?!", "Nobody."],
        ),
        (
            "Gem reserves.4 The continent holds 65 per cent of arable land.5 It grows.",
            ["Gem reserves.4", "The continent holds 65 per cent of arable land.5", "It grows."],
        ),
        ("Visit polarisproject.org. The hotline is open.", ["Visit polarisproject.org.", "The hotline is open."]),
    ],
)
def test_inline_rules(text, expected):
    assert sents(text) == expected
    check_spans(text)


def test_hard_wrapped_lines_do_not_end_sentences():
    text = "Victims trafficked from countries\nin Africa have been recorded in an increasing\nnumber of countries. Africa is home\nto 1.4 billion people."
    assert sents(text) == [
        "Victims trafficked from countries\nin Africa have been recorded in an increasing\nnumber of countries.",
        "Africa is home\nto 1.4 billion people.",
    ]


def test_bullets_and_list_items_are_sentences():
    text = (
        "Indicators include:\n"
        "• appears to be deprived of food\n"
        "• has bruises or other signs of\nphysical trauma\n"
        "- dash item\n"
        "* star item\n"
        "1. numbered item\n"
        "2) second numbered item\n"
        "(a) lettered item\n"
        "(iv) roman item\n"
        "After the list."
    )
    assert sents(text) == [
        "Indicators include:",
        "• appears to be deprived of food",
        "• has bruises or other signs of\nphysical trauma",
        "- dash item",
        "* star item",
        "1. numbered item",
        "2) second numbered item",
        "(a) lettered item",
        "(iv) roman item",
        "After the list.",
    ]
    check_spans(text)


def test_bullet_alone_on_its_line_keeps_its_text():
    text = "Does the student…\n »\nAppear to be deprived of food?\n »\nHave bruises?"
    assert sents(text) == ["Does the student…", "»\nAppear to be deprived of food?", "»\nHave bruises?"]


def test_inline_bullets():
    assert sents("Risk factors: • poverty • debt • isolation.") == ["Risk factors:", "• poverty", "• debt", "• isolation."]


def test_table_rows_are_sentences():
    text = "Region | Victims | Year\nAfrica | 1,200 | 2022\nEurope | 900 | 2022\nSource: UNODC."
    assert sents(text) == ["Region | Victims | Year", "Africa | 1,200 | 2022", "Europe | 900 | 2022", "Source: UNODC."]


def test_paragraph_breaks_and_headings():
    text = "Executive Summary\n\nThe findings are clear\n\nKey Findings\nMost victims were women. Some were men\n\n\nNext paragraph."
    assert sents(text) == [
        "Executive Summary",
        "The findings are clear",
        "Key Findings",
        "Most victims were women.",
        "Some were men",
        "Next paragraph.",
    ]
    check_spans(text)


def test_short_unpunctuated_line_before_capital_is_a_heading():
    text = "Social\nDoes the student talk about money?\nThe report covers\nthe data."
    assert sents(text) == ["Social", "Does the student talk about money?", "The report covers\nthe data."]


def test_empty_and_whitespace():
    assert split_sentences("") == []
    assert split_sentences("  \n\n\t ") == []
    assert split_sentences("  One.  ") == [(2, 6)]


def test_crlf_and_odd_whitespace():
    text = "First line here.\r\nSecond one.\r\n\r\nThird\xa0one. Fourth."
    assert sents(text) == ["First line here.", "Second one.", "Third\xa0one.", "Fourth."]
    check_spans(text)


def test_chunker_reexports():
    assert reexported is split_sentences


def test_fast_on_a_megabyte():
    para = (
        "In 2022, about 43.5% of the 1.2 million detected victims (e.g. in the U.S. and the E.U.) were women. "
        "Dr. Smith et al. reported it in Art. 3, para. 4.\n• a bullet item\nRegion | Victims | 2022\n\n"
    )
    text = para * (1_000_000 // len(para))
    t0 = time.perf_counter()
    spans = split_sentences(text)
    elapsed = time.perf_counter() - t0
    assert len(spans) == 4 * (1_000_000 // len(para))
    assert elapsed < 3.0, f"{elapsed:.2f}s for 1 MB"
