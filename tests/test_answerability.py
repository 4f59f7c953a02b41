"""What a question asks for, and the gate that decides whether passages answer it (pure rules, no model)."""

from __future__ import annotations

import pytest

from assistant.answerability import Evidence, assess, figures, lacks, name_present, states_measure
from assistant.intent import question_parts, read_question
from assistant.reading import read_passage
from assistant.records import Chunk, Hit


def ev(text: str, title: str = "", context: str = "") -> Evidence:
    units = tuple(u.text for u in read_passage(text))
    return Evidence(text=text, header=title, sentences=units, context=context, title=title)


def hit(text: str, title: str = "Annual report", rank: int = 1, dense: float = 0.7) -> Hit:
    c = Chunk(chunk_id=f"c{rank}", doc_id="d", file="r.pdf", title=title, text=text, page_start=rank,
              page_end=rank, page_label=str(rank), section="", start=0, end=len(text), index=rank)
    return Hit(chunk=c, score=1.0 / rank, rank=rank, dense_score=dense, lexical_score=1.0)


def test_the_kind_of_question_and_the_measure_it_asks_for():
    cases = {
        "How many likely victims did the Hotline identify in 2021?": ("quantity", "count"),
        "What share of victims were recruited online?": ("quantity", "percent"),
        "How much did the awareness campaign cost?": ("quantity", "money"),
        "What was the average age of victims at first contact?": ("quantity", "average"),
        "What is the phone number of the tip line?": ("contact", "phone"),
        "In which U.S. region did the largest share of respondents live?": ("other", None),
        "What does the guide mean by 'grooming'?": ("definition", None),
        "Which warning signs should teachers look for?": ("list", None),
        "Why are convenience stores attractive to traffickers?": ("reason", None),
        "When a school officer meets a possible victim, what steps should they take?": ("list", None),
        # which/what + a plural common noun asks for several things; a name or an auxiliary does not
        "Which gaming sites do traffickers use to reach teens?": ("list", None),
        "What learning objectives does the training have?": ("list", None),
        "Through which access points did victims get help?": ("list", None),
        "What does Polaris include under 'Isolation'?": ("other", None),
        "Which agency runs the Blue Campaign?": ("other", None),
        "What is the status of the bill?": ("definition", None),
    }
    for question, (kind, measure) in cases.items():
        ask = read_question(question)
        assert (ask.kind, ask.measure) == (kind, measure), question


def test_the_term_a_definition_question_defines():
    from assistant.intent import defined_phrase

    assert defined_phrase("What does the IACP guide mean by 'grooming'?") == "grooming"
    assert defined_phrase("How does the UNODC chapter define the crime of migrant smuggling, as distinct from trafficking?") == "migrant smuggling"
    assert defined_phrase("What is the H-2A visa program, and did the pandemic change it?") == "H-2A visa program"
    assert defined_phrase("How many victims were identified?") == ""
    assert defined_phrase("What is peer-to-peer recruitment in schools, and what do traffickers offer?") == "peer-to-peer recruitment"
    assert read_question("What does the guide mean by 'grooming'?").defined == frozenset({"groom"})


def test_years_names_and_document_years():
    ask = read_question("How many of the 57 OSCE participating States responded to the OSCE's 2021 survey?")
    assert ask.years == ("2021",) and ask.doc_years == ("2021",) and ask.numbers == ("57",)
    assert "OSCE" in ask.names and "How" not in ask.names
    assert read_question("What does UNODC's Global Report on Trafficking in Persons 2024 say?").doc_years == ("2024",)
    assert read_question("How many victims were detected in 2022?").doc_years == ()
    ask = read_question("Did reports keep climbing through the COVID-19 pandemic from January to August?")
    assert ask.numbers == () and "January" not in ask.names


def test_a_two_part_question_has_two_parts():
    assert question_parts("How does Polaris define age at entry, and how many likely victims were minors then?") == [
        "How does Polaris define age at entry", "how many likely victims were minors then"]
    assert question_parts("When an officer meets a victim, what steps should they take?") == [
        "When an officer meets a victim, what steps should they take?"]


def test_a_year_must_be_in_the_text_unless_the_question_names_the_document_by_it():
    ask = read_question("How many victims did the Hotline identify in 2022?")
    assert [lk.describe() for lk in lacks(ask, [ev("In 2021, 16,554 likely victims were identified by the Hotline.")])] == [
        "“2022”"]
    ask = read_question("What does the Global Report on Trafficking in Persons 2024 say about conflict?")
    assert lacks(ask, [ev("Conflict exposes displaced people to trafficking.", title="Global Report on Trafficking in Persons 2024")]) == []
    ask = read_question("How did the figures change between the 2015-2017 data and 2021?")
    assert lacks(ask, [ev("In 2015-2017 there were 250 cases; in 2021 there were 300 cases.")]) == []


def test_names_may_come_from_the_header_or_the_same_document_nearby():
    words = {"ghana", "kenya", "nations"}
    assert name_present("Ghanaian", words) and name_present("Kenyan", words) and not name_present("UN", words)
    ask = read_question("What share of likely labor trafficking victims in Kenya were foreign nationals?")
    assert [lk.describe() for lk in lacks(ask, [ev("Foreign National | 2510 | 71%")])] == ["“Kenya”"]
    ask = read_question("How many victims did Polaris count?")
    assert lacks(ask, [ev("It counted 16,554 victims.", context="Polaris operates the hotline.")]) == []


def test_the_measure_must_be_stated_beside_what_is_counted():
    ask = read_question("How many hotels took part in the Blue Campaign training?")
    training = ev("5 Find more training resources at the website. The training reached 300 staff.", title="Blue Campaign guide")
    assert [lk.describe() for lk in lacks(ask, [training])] == ["a figure for what is asked"]
    assert lacks(ask, [ev("The training reached 12,000 employees across 300 hotels.", title="Blue Campaign guide")]) == []
    # an ISBN is no amount of money, and a count is no percentage
    money = read_question("How much did the Blue Campaign spend on the guide?")
    assert [lk.describe() for lk in lacks(money, [ev("The Blue Campaign guide was spent on outreach; ISBN 978-1-23-456789-0. It cost staff time.")])] == [
        "an amount of money"]
    assert lacks(money, [ev("The Blue Campaign spent $1.2 million on the guide.")]) == []
    share = read_question("What share of victims were minors?")
    assert not states_measure("There were 4,708 minors among the victims.", share)
    assert states_measure("Minors were 28% of the victims.", share)
    assert figures("Fig. 75 Share of victims, COVID-19, 1/1/2021, in 2022, p. 12", set()) == []
    assert figures("There were 10,359 situations (31%)", set()) == ["10,359", "31%"]


def test_a_contact_question_needs_a_number_to_call():
    ask = read_question("What is the phone number of the HSI Tip Line?")
    assert [lk.describe() for lk in lacks(ask, [ev("Report tips to the HSI Tip Line at any time of day.")])] == ["a phone number"]
    assert lacks(ask, [ev("Call the HSI Tip Line at 1-866-347-2423 to report.")]) == []


def test_the_gate_admits_only_passages_that_supply_what_is_asked_and_says_why_not():
    question = "How many likely victims did the Hotline identify in 2021?"
    hits = [hit("This report presents data from the National Human Trafficking Hotline.", rank=1),
            hit("In 2021, a total of 16,554 likely victims of trafficking were identified by the Hotline.", rank=2)]
    v = assess(read_question(question), hits)
    assert v.answerable and v.admissible == (1,)
    v = assess(read_question("How many likely victims did the Hotline identify in Kenya?"), hits)
    assert not v.answerable and [lk.describe() for lk in v.lacking] == ["“Kenya”", "a figure for what is asked"]
    # a comparison may draw on the passages together
    q = "How did the number of situations change between 2020 and 2021?"
    pair = [hit("In 2020 there were 10,524 situations.", rank=1), hit("In 2021 there were 10,359 situations.", rank=2)]
    assert assess(read_question(q), pair).admissible == (0, 1)
    assert assess(read_question(q), pair[:1]).admissible == ()


@pytest.mark.parametrize("floor, answerable", [(0.0, True), (0.99, False)])
def test_weak_evidence_is_refused_below_the_strength_floor(floor, answerable):
    hits = [hit("Shelters offer legal aid and medical care to survivors.", dense=0.5)]
    v = assess(read_question("What do shelters offer survivors?"), hits, min_strength=floor)
    assert v.answerable is answerable and v.admissible == (0,) and 0 < v.strength < 1


def test_a_rewritten_follow_up_asks_what_its_own_words_ask_about_the_subject_it_carries():
    ask = read_question("What share of them had experienced sex trafficking (How many survivors answered the survey for Polaris's National Survivor Study)?")
    assert ask.kind == "quantity" and ask.measure == "percent"
    assert ask.counted == ()  # "how many survivors answered" was the question before, not this one
    assert "Polaris" in ask.names and "survivor" in ask.focus  # the subject is carried
    # parentheses inside a question are part of it
    assert read_question("How many children did the Interdiction for the Protection of Children (IPC) program find?").counted == ("children",)


def test_a_term_asked_for_by_name_must_be_defined_not_only_used():
    ask = read_question("What does the guide mean by 'grooming'?")
    used = ev("Traffickers rely on grooming, threats and debt to control victims.")
    assert [lk.describe() for lk in lacks(ask, [used])] == ["a definition of what is asked"]
    for defining in ("Victims are enticed through a process known as grooming.",
                     "Grooming is a process in which a trafficker builds trust.",
                     "What is grooming? A trafficker builds trust and dependency over time."):
        assert lacks(ask, [ev(defining)]) == [], defining
    # "smuggling of migrants" defines "migrant smuggling"; a possessive is no quotation mark
    smuggling = read_question("How does UNODC's chapter define migrant smuggling?")
    assert smuggling.explicit == "migrant smuggling"
    assert lacks(smuggling, [ev("Smuggling of migrants is the procurement of an irregular entry for a financial benefit.", title="UNODC report")]) == []
    # a quoted title is no term to define, and a question that asks no meaning has none
    assert read_question("What is the point of the 'Who are the traffickers?' photo exercise?").explicit == ""
    assert read_question("What is the Blue Campaign?").explicit == ""


def test_what_is_counted_may_be_paraphrased_in_a_sentence_with_the_rest_of_the_question():
    ask = read_question("How many deaths was the war in Ethiopia alone responsible for in 2022?")
    said = ev("Reports indicate that the war in Ethiopia alone accounted for more than 100,000 fatalities in 2022.")
    assert lacks(ask, [said]) == []
    elsewhere = ev("Conflicts in the region displaced 100,000 people in 2022.")
    assert [lk.describe() for lk in lacks(ask, [elsewhere])] == ["“Ethiopia”", "a figure for what is asked"]


def test_a_name_that_cites_the_source_need_only_be_in_its_document():
    q = "Which groups does the parent guide, citing HHS, list as especially vulnerable?"
    assert read_question(q).sources == ("HHS",)
    intro = hit("The guide draws on HHS findings about vulnerable youth.", title="Parent guide", rank=1)
    groups = Hit(chunk=Chunk(chunk_id="c9", doc_id="d", file="r.pdf", title="Parent guide", index=9, page_start=9, page_end=9,
                             page_label="9", section="", start=0, end=60,
                             text="Youth in foster care, runaway and homeless youth are especially vulnerable."),
                 score=0.5, rank=2, dense_score=0.7, lexical_score=1.0)
    v = assess(read_question(q), [intro, groups])
    assert 1 in v.admissible  # far from the HHS passage, in the same document
    # a name that says where or who is about is still needed in (or near) the passage itself
    assert read_question("How many victims did the Hotline identify in Kenya?").sources == ()
    assert read_question("How many victims were detected in Kenya, according to UNODC?").sources == ("UNODC",)


def test_a_kind_of_thing_the_library_never_mentions_is_refused():
    ask = read_question("Which airlines did traffickers use to fly victims to the Gulf states?")
    assert ask.asked == "airlines"
    hits = [hit("Victims were flown to the Gulf states on tourist visas by traffickers.", rank=1)]
    library = {"airlines": 0.0, "sectors": 0.05}
    v = assess(ask, hits, known=lambda w: library.get(w, 1.0))
    assert not v.answerable and [lk.describe() for lk in v.lacking] == ["any airlines"]
    assert assess(ask, hits).answerable  # without the library's vocabulary the rule is off
    # a kind of thing the library knows is left to the other rules: reports name sectors in many ways
    sectors = read_question("Which sectors does the report list as high risk?")
    assert sectors.asked == "sectors"
    assert assess(sectors, [hit("Agriculture, construction and domestic work are high risk.", rank=1)],
                  known=lambda w: library.get(w, 1.0)).answerable
    # a passage that names the kind asked for answers whatever the library's share
    named = [hit("Traffickers bought tickets on two airlines flying to the Gulf states.", rank=1)]
    assert assess(ask, named, known=lambda w: library.get(w, 1.0)).answerable
