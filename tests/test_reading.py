"""A passage as reading units: lead-ins with their items, table rows with titles, and what is never an answer."""

from __future__ import annotations

from assistant.reading import classify, quoted, read_passage

SIGNS = (
    "Action Card #6: Early Warning Signs\n\n"
    "Some of these are easily identified by looking at and talking to a person. Below are some common signs of human trafficking.\n\n"
    "According to the Department of Education, possible indicators include, but are not limited to, the following:\n\n"
    "• an inability to attend school on a regular basis\n• frequently running away from home\n"
    "• references made to frequent travel to other cities\n\n"
    "9 From U.S. Department of Education website: https://example.gov/human-trafficking"
)
REPORT = (
    "Be observant and try to collect as much information as possible about the situation and people, like:\n\n"
    "» Approximate ages and the number of individuals involved\n» Travel details (where they are going)\n"
    "» Vehicle information (color, make, model, license plate, etc.)"
)
TABLE = (
    "Immigration Status of Likely Victims - Labor ONLY\n\n"
    "Form of Trafficking | 2020 | 2021 | % Change\n"
    "Foreign National | 2510 | 71% | 2754 | 73% | 3%\n\n"
    "DAILY NUMBER OF SITUATIONS\n\n15\n\n12\n\nQ1 | Q2 | Q3 | Q4\n2018 | 2019 | 2020 | 2021"
)
STORY = (
    "Regulars Can Be Traffickers\n\n"
    "Joel has been running his neighborhood’s convenience store for the past decade. It is located in a busy "
    "neighborhood, so on a normal day he interacts with hundreds of customers. Convenience store staff see many customers every day."
)


def kinds(text: str) -> list[tuple[str, str]]:
    return [(u.kind, quoted(u)) for u in read_passage(text)]


def test_a_lead_in_brings_its_items_and_its_span_covers_them():
    units = read_passage(SIGNS)
    lead = next(u for u in units if u.items)
    assert lead.kind == "lead_in"
    assert lead.items == ("an inability to attend school on a regular basis", "frequently running away from home",
                          "references made to frequent travel to other cities")
    # the announcing sentence and the second lead-in read together; the span runs to the last item
    assert quoted(lead).startswith("Below are some common signs of human trafficking. According to")
    assert SIGNS[lead.start:lead.end].endswith("frequent travel to other cities")
    assert quoted(lead).endswith("; references made to frequent travel to other cities.")
    like = next(u for u in read_passage(REPORT) if u.items)
    assert len(like.items) == 3 and like.items[2].startswith("Vehicle information")


def test_footnotes_charts_and_boilerplate_are_not_answers():
    got = dict((text, kind) for kind, text in kinds(SIGNS))
    assert got["9 From U.S. Department of Education website: https://example.gov/human-trafficking"] == "footnote"
    table = kinds(TABLE)
    assert ("row", "Immigration Status of Likely Victims - Labor ONLY: Foreign National | 2510 | 71% | 2754 | 73% | 3%") in table
    assert [k for k, t in table if t.startswith(("Q1 |", "2018 |"))] == ["chart", "chart"]
    assert classify("This report presents 2021 data from the National Human Trafficking Hotline.") == "boilerplate"
    assert classify("ISBN 978-92-1-130410-5 eISBN 978-92-1-005730-9") == "boilerplate"
    assert classify("In 2021, 16,554 likely victims of trafficking were identified.") == "statement"
    assert classify("F I G U R E 2 | Annual Household Income – Respondents v. General U.S. Population. . . . . 14") == "navigation"


def test_a_story_about_a_named_person_is_a_scenario_until_it_ends():
    got = kinds(STORY)
    assert [k for k, _ in got] == ["heading", "scenario", "scenario", "statement"]


def test_a_numbered_list_under_a_heading_reads_as_one_unit_and_keeps_items_with_links():
    steps = ("A. 10 Steps Parents Can Take to Prevent Trafficking\n"
             "1. Learn and understand what human trafficking is. https://example.mil/What-is-TIP/\n"
             "2. Be aware who your teen is connecting with online.\n3. Know where to report human trafficking.")
    units = read_passage(steps)
    assert units[0].kind == "lead_in" and len(units[0].items) == 3
    assert units[0].items[0] == "Learn and understand what human trafficking is"  # link and bullet gone
    assert [u.kind for u in units[1:]] == ["item", "item", "item"]


def test_a_sentence_opening_with_a_figure_is_a_statement_and_a_numbered_note_is_a_footnote():
    from assistant.reading import classify

    assert classify("37 percent of respondents experienced familial sex trafficking.") == "statement"
    assert classify("12 See the appendix for the survey's definitions of each category.") == "footnote"
    assert classify("3 United Nations Office on Drugs and Crime, Global Report, 2024.") == "footnote"


def test_endnotes_and_header_rows_are_not_answers():
    # a numbered endnote looks like a list item; a row of years labels a table's columns
    note = "21. Byron A. Fassett, “Dallas High Risk Victims Model” (Dallas, TX: Dallas Police Department, 2008), http://www.example.gov/x.pdf."
    assert classify(note) == "footnote"
    assert classify("22. Fassett, “Dallas High Risk Victims Model” (see note 21).") == "footnote"
    assert classify("2. Know the signs: call the hotline https://www.example.gov/blue") == "item"  # a step keeps its link
    assert classify("Reported Year | 2020 | 2021 | % Change") == "chart"
    assert classify("2021 Form of Trafficking | 2020 | 2021") == "chart"  # only years: a header, whatever its label
    assert classify("Source: UNODC NGO Survey.") == "caption"
    assert classify("Washington, DC 20530 | Visit the IACP online at www.example.org.") == "footnote"
    item = next(u for u in read_passage("» Call the hotline at 1-888-373-7888 to report suspected trafficking.") if u.kind == "item")
    assert quoted(item) == "Call the hotline at 1-888-373-7888 to report suspected trafficking."
    assert classify("¹ Situations where the form is “Other/Not Specified” occur when an agent reports.") == "footnote"
    assert classify("Male | 1368 | 39% | 1814 | 48% | 24%") == "row"


def test_a_row_knows_its_table_title_and_a_header_row_is_not_one():
    text = ("Gender of Likely Victims by Form - Labor ONLY\n\n2020 | 2021 | % Change\n"
            "Male | 1368 | 39% | 1814 | 48% | 24%\nFemale | 2100 | 60% | 1900 | 50% | -10%")
    rows = [u for u in read_passage(text) if u.kind == "row"]
    assert [u.title for u in rows] == ["Gender of Likely Victims by Form - Labor ONLY"] * 2
    assert rows[0].text == "Gender of Likely Victims by Form - Labor ONLY: Male | 1368 | 39% | 1814 | 48% | 24%"
