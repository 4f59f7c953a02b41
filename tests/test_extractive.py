"""The composing reader on hand-made passages with the real embedding model."""

from __future__ import annotations

from assistant.answerers.extractive import ExtractiveAnswerer
from assistant.answerers.markers import answer_sentences
from assistant.answerers.verify import verify_answer
from assistant.records import Chunk, Hit

TITLE = "Analysis of 2021 Data from the National Human Trafficking Hotline"
SUMMARY = (
    "2021 Data Tables Summary\n\nThis report presents 2021 data from the National Human Trafficking Hotline. "
    "Please refer to the relevant tables for more detailed information on a particular topic. "
    "From 1/1/2021 - 12/31/2021, there were 10,359 trafficking situations reported to the Hotline. "
    "In those situations, a total of 16,554 likely victims of trafficking were identified. "
    "The top three types of trafficking reported in 2021 were Escort Services (10%) and Pornography (8%)."
)
TABLE = (
    "Immigration Status of Likely Victims - Labor ONLY\n\n"
    "Form of Trafficking | 2020 | 2021 | % Change\n"
    "Domestic (USC/LPR) | 86 | 2% | 100 | 3% | 9%\n"
    "Foreign National | 2510 | 71% | 2754 | 73% | 3%\n"
    "Unknown | 957 | 27% | 931 | 25% | -9%"
)
SIGNS = (
    "Regulars Can Be Traffickers\n\nJoel has been running his neighborhood’s convenience store for a decade. "
    "One day he notices two young girls with a regular customer.\n\n"
    "Warning signs\n\nBelow are some common signs of human trafficking. Possible indicators include, but are not limited to, the following:\n\n"
    "• an inability to attend school on a regular basis\n• frequently running away from home\n"
    "• signs of physical trauma, withdrawn behavior or fear"
)
DEFINE = (
    "Definitions\n\nThe term “commercial sex act” means any sex act through which anything of value is given to, "
    "or received by, any person. Child sex trafficking is the recruitment, harboring or transportation of a child "
    "under 18 years of age for the purpose of a commercial sex act."
)


def hits(*texts: str, title: str = TITLE) -> list[Hit]:
    out = []
    for i, text in enumerate(texts, 1):
        c = Chunk(chunk_id=f"c{i}", doc_id="d", file="hotline.pdf", title=title, text=text, page_start=i + 1,
                  page_end=i + 1, page_label=str(i), section="", start=0, end=len(text), index=i)
        out.append(Hit(chunk=c, score=1.0 / i, rank=i, dense_score=0.6))
    return out


def test_the_asked_for_figure_comes_first_and_boilerplate_is_never_quoted(embedder):
    ans = ExtractiveAnswerer(embedder=embedder).answer("How many likely victims did the Hotline identify in 2021?", hits(SUMMARY))
    first = answer_sentences(ans.text)[0]
    assert "16,554 likely victims" in first
    assert "This report presents" not in ans.text and "Please refer" not in ans.text
    cit = ans.citations[0]
    assert "16,554" in cit.text[cit.span[0]:cit.span[1]] and len(cit.text[cit.span[0]:cit.span[1]]) < 200


def test_a_table_row_answers_a_share_question_and_the_citation_spans_the_row(embedder):
    ans = ExtractiveAnswerer(embedder=embedder).answer(
        "What share of likely labor trafficking victims in 2021 were foreign nationals?", hits(TABLE)
    )
    assert "73%" in answer_sentences(ans.text)[0] and "Foreign National" in ans.text
    cit = ans.citations[0]
    assert cit.text[cit.span[0]:cit.span[1]] == "Foreign National | 2510 | 71% | 2754 | 73% | 3%"
    assert cit.page == 2


def test_a_signs_question_gets_the_list_not_the_story(embedder):
    ans = ExtractiveAnswerer(embedder=embedder).answer("What are common signs of human trafficking among students?", hits(SIGNS))
    assert "frequently running away from home" in ans.text and "withdrawn behavior" in ans.text
    assert "Joel" not in ans.text
    cit = ans.citations[0]
    quoted = cit.text[cit.span[0]:cit.span[1]]
    assert quoted.startswith("Below are some common signs") and quoted.endswith("withdrawn behavior or fear")
    story = ExtractiveAnswerer(embedder=embedder).answer("What happens in the example story about the store owner Joel?", hits(SIGNS))
    assert "Joel" in story.text


def test_each_part_of_a_two_part_question_gets_its_sentence_each_with_its_own_span(embedder):
    question = "What counts as child sex trafficking, and what qualifies as a commercial sex act?"
    ans = ExtractiveAnswerer(embedder=embedder).answer(question, hits(DEFINE, SUMMARY))
    first_two = " ".join(answer_sentences(ans.text)[:2])
    assert "under 18" in first_two and "anything of value" in first_two  # each part answered before any filler
    spans = [c.text[c.span[0]:c.span[1]] for c in ans.citations]
    assert any("anything of value" in s for s in spans)
    # spans are the quoted sentences, never the passage with its heading and boilerplate
    assert not any(s.startswith(("Definitions", "2021 Data Tables")) or "This report presents" in s for s in spans)


def test_answers_stay_within_the_word_budget_and_pass_the_verifier_untouched(embedder):
    reader = ExtractiveAnswerer(embedder=embedder, max_words=60)
    for question in ("How many trafficking situations were reported in 2021?", "What are common signs of trafficking?",
                     "What does commercial sex act mean?"):
        ans = reader.answer(question, hits(SUMMARY, SIGNS, DEFINE))
        first = answer_sentences(ans.text)[0]
        rest = ans.text[len(first):]
        assert len(rest.replace("[1]", "").replace("[2]", "").split()) <= 60
        checked = verify_answer(ans, embedder)
        assert checked.unsupported == [] and checked.text == ans.text  # verbatim quotes are supported


TWO_LISTS = (
    "Risk factors\n\nThe guide lists the following risk factors that traffickers exploit in young people:\n\n"
    "• unstable housing and running away from home for days at a time\n• a history of abuse or neglect in the family\n"
    "• isolation from friends, school and other support networks\n• debts owed by the family to a recruiter\n\n"
    "Further risk factors that traffickers exploit in young people include the following:\n\n"
    "• substance use by the young person or a parent at home\n• involvement with the juvenile justice system\n"
    "• online contact with adult strangers through games and chat\n• a disability that limits schooling and work"
)


def test_a_list_question_has_room_for_all_its_items_where_the_plain_budget_stops_at_the_first_list(embedder):
    question = "Which risk factors that traffickers exploit in young people does the guide list?"
    roomy = ExtractiveAnswerer(embedder=embedder, max_words=60).answer(question, hits(TWO_LISTS))
    plain = ExtractiveAnswerer(embedder=embedder, max_words=60, budgets={}).answer(question, hits(TWO_LISTS))
    for ans in (roomy, plain):
        assert "unstable housing" in ans.text or "substance use" in ans.text
    assert "unstable housing" in roomy.text and "substance use" in roomy.text  # both lists, past 60 words
    assert not ("unstable housing" in plain.text and "substance use" in plain.text)
    assert verify_answer(roomy, embedder).unsupported == []


GROOMING = (
    "About this guide\n\nThe IACP guide is a resource that explains to police leaders what the guide means by the "
    "terms it uses in each chapter. "
    "Grooming is a process in which a trafficker builds trust with a child through gifts and attention."
)


def test_a_definition_question_leads_with_the_sentence_that_defines_the_asked_term(embedder):
    ans = ExtractiveAnswerer(embedder=embedder).answer("What does the IACP guide mean by 'grooming'?", hits(GROOMING))
    assert answer_sentences(ans.text)[0].startswith("Grooming is a process")


def test_a_table_title_is_shown_once_before_the_rows_quoted_from_it(embedder):
    ans = ExtractiveAnswerer(embedder=embedder).answer(
        "How many domestic, foreign national and unknown likely victims of labor trafficking were there?", hits(TABLE))
    title = "Immigration Status of Likely Victims - Labor ONLY"
    assert ans.text.count(title) == 1, ans.text
    assert "Foreign National | 2510" in ans.text and "Unknown | 957" in ans.text
    assert "2020 | 2021 | % Change" not in ans.text  # the header row labels columns, it states nothing
