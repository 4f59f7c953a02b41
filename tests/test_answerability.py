"""What a question pins down, and whether a passage supplies it (pure rules, no store, no model)."""

from __future__ import annotations

import pytest

from assistant.answerability import (
    Evidence,
    comparative,
    figures,
    name_present,
    needs_of,
    standalone_years,
    unmet,
)


def ev(text: str, header: str = "", context: str = "") -> Evidence:
    from assistant.answerers.extractive import units

    return Evidence(text=text, header=header, sentences=tuple(u[2] for u in units(text)), context=context)


def test_needs_of_reads_years_numbers_names_and_kinds():
    n = needs_of("How many of the 57 OSCE participating States responded to the OSCE's 2021 survey?")
    assert n.years == ("2021",) and n.numbers == ("57",) and n.quantity
    assert "OSCE" in n.names and "How" not in n.names
    assert n.doc_years == ("2021",)  # "2021 survey" names a document
    assert needs_of("What was the average age of victims?").statistic == "average"
    assert needs_of("Which U.S. state had the most situations?").place == "state"
    assert not needs_of("Why do traffickers use convenience stores?").quantity
    # a number inside a name is not a number the answer must repeat; months are not names
    n = needs_of("Did reports keep climbing through the COVID-19 pandemic from January to August?")
    assert n.numbers == () and "January" not in n.names and "August" not in n.names
    assert needs_of("What did Polaris's National Survivor Study find?").names[0] == "Polaris"


def test_a_single_year_is_not_answered_by_a_range_that_ends_in_it():
    assert standalone_years("Trends (2018-2022) and January 2020-August 2022, 1/1/2020-8/31/2022") == set()
    assert standalone_years("between 2019 and 2023 ... in 2022, nationals") == {"2022"}
    assert standalone_years("in 2021 and 2022") == {"2021", "2022"}
    n = needs_of("How many victims did the hotline identify in calendar year 2022 alone?")
    assert unmet(n, [ev("From January 2020-August 2022 there were 42,887 likely victims.")]) == ["2022 on its own"]
    assert unmet(n, [ev("In 2022 the Hotline identified 16,000 likely victims.")]) == []
    # a question spanning years is answered by the span
    n2 = needs_of("From January 2020 to August 2022, how many situations were reported?")
    assert unmet(n2, [ev("From January 2020-August 2022, 26,872 situations were reported.")]) == []


def test_names_must_appear_in_the_passage_its_header_or_its_document_nearby():
    n = needs_of("How many people were convicted of trafficking in Kenya in 2022?")
    text = "In 2022, 205 people were convicted of trafficking in Nigeria."
    assert unmet(n, [ev(text)]) == ["Kenya"]
    assert unmet(n, [ev(text.replace("Nigeria", "Kenya"))]) == []
    assert unmet(n, [ev(text, context="Kenya reported ...")]) == []  # same document, next passage
    assert name_present("Ghanaian", {"ghana"}) and name_present("Kenya", {"kenyan"})
    assert not name_present("UK", {"uganda"}) and not name_present("Kenya", {"korea"})
    # the title counts for names
    n = needs_of("What does the IACP guide say about partners?")
    assert unmet(n, [ev("Partners include hotels.", header="Guide, International Association of Chiefs of Police (IACP)")]) == []


def test_years_naming_a_document_may_come_from_its_title_other_years_from_the_text():
    n = needs_of("Which drivers does UNODC's 2024 Global Report single out for Africa?")
    assert unmet(n, [ev("Conflict, natural resources and climate change expose Africa.", header="Global Report 2024 UNODC")]) == []
    n = needs_of("How many situations were reported to the Hotline in 2023?")
    got = unmet(n, [ev("There were 10,359 situations reported to the Hotline.", header="Hotline Trends Report 2023")])
    assert got == ["2023"]


def test_statistic_and_place_must_be_stated():
    n = needs_of("What was the average age at which victims entered trafficking?")
    assert "an average" in unmet(n, [ev("4,708 likely victims (28%) were minors at entry into trafficking.")])
    assert unmet(n, [ev("The average age at entry into trafficking was 17.")]) == []
    n = needs_of("Which U.S. state had the most trafficking situations?")
    assert unmet(n, [ev("There were 10,359 trafficking situations in 2021.")]) == ["a state name"]
    assert unmet(n, [ev("California had the most trafficking situations, 1,334.")]) == []


def test_how_many_needs_a_figure_beside_what_is_counted():
    n = needs_of("How many school moves can a military child expect?")
    assert unmet(n, [ev("Military children change schools often.")]) == ["a figure for what is asked"]
    assert unmet(n, [ev("Students often experience six to nine moves during their education.")]) == []
    # table rows read with their table's title
    table = "Immigration Status of Likely Victims - Labor ONLY\n\nForeign National | 2510 | 71% | 2754 | 73%"
    n = needs_of("What share of labor trafficking victims had foreign national status?")
    assert unmet(n, [ev(table)]) == []
    assert figures("Fig. 75 Share of victims, COVID-19, 1/1/2021, in 2022", set()) == []
    assert figures("There were 10,359 situations (31%)", set()) == ["10,359", "31%"]
    assert figures("only 34 of the 57 signatories", {"57"}) == ["34"]


def test_comparisons_may_draw_on_several_passages():
    q = "How did the number of situations change between 2020 and 2021?"
    n = needs_of(q)
    assert comparative(q, n)
    a, b = ev("In 2020 there were 10,524 situations."), ev("In 2021 there were 10,359 situations.")
    assert unmet(n, [a]) and unmet(n, [b])
    assert unmet(n, [a, b]) == []
    assert not comparative("How many situations were reported in 2021?", needs_of("How many situations were reported in 2021?"))


@pytest.mark.parametrize(
    "question",
    [
        "What is the phone number of the UK Modern Slavery Helpline?",
        "How many trafficking victims did Australia detect in 2022?",
    ],
)
def test_off_corpus_near_misses_are_caught(question):
    hotline = ev(
        "Call the National Human Trafficking Hotline at 1-888-373-7888. In 2021, 16,554 likely victims were identified.",
        header="Polaris Analysis of 2021 Data from the National Human Trafficking Hotline",
    )
    assert unmet(needs_of(question), [hotline])


def test_the_figure_must_count_what_the_question_counts():
    from assistant.answerability import counted_terms

    assert counted_terms("How many hotels took part in the training?") == ("hotel",)
    assert counted_terms("How many of the 57 OSCE participating States responded?")[-2:] == ("state", "respond")
    assert counted_terms("How often do families move?") == ()
    n = needs_of("How many hotels took part in the Blue Campaign training?")
    training = "5 Find more training resources: dhs.gov/blue-campaign/awareness-training. The training reached 300 staff."
    assert unmet(n, [ev(training, header="Blue Campaign guide")]) == ["a figure for what is asked"]
    hotels = ev("The training reached 12,000 employees across 300 hotels in the region.", header="Blue Campaign guide")
    assert unmet(n, [hotels]) == []
    # what the report's title names is not what the figure counts
    n = needs_of("How many of the 57 OSCE participating States responded to the survey?")
    osce = ev("It covers the 57 signatory States. The OSCE now had data over a seven year period.", header="OSCE Survey Report 2021")
    assert unmet(n, [osce]) == ["a figure for what is asked"]
    replies = ev("Of the 57 participating States, 49 responded to the survey.", header="OSCE Survey Report 2021")
    assert unmet(n, [replies]) == []
