"""Follow-up questions rewritten without a model: elliptical, pronoun and standalone questions."""

from __future__ import annotations

from assistant.followup import is_follow_up, standalone

FIRST = "How many likely victims did the Hotline identify in 2021?"


def test_a_bare_year_replaces_the_year_of_the_question_before():
    assert standalone("And in 2020?", [(FIRST, "...")]) == "How many likely victims did the Hotline identify in 2020?"
    assert standalone("What about 2019?", [(FIRST, "...")]) == "How many likely victims did the Hotline identify in 2019?"


def test_elliptical_and_pronoun_follow_ups_carry_the_subject_after_their_own_words():
    for follow in ("Has the share grown since then?", "What about labor trafficking?", "Which of them is most common?"):
        got = standalone(follow, [(FIRST, "...")])
        assert got.startswith(follow.rstrip("?")) and "Hotline identify in 2021" in got, got


def test_a_follow_up_of_a_follow_up_keeps_the_first_subject():
    history = [(FIRST, "..."), ("And in 2020?", "...")]
    assert "Hotline identify in 2020" in standalone("What about labor trafficking?", history)


def test_standalone_questions_are_left_alone():
    q = "How do traffickers recruit their victims through social media platforms?"
    assert not is_follow_up(q) and standalone(q, [(FIRST, "...")]) == q
    assert not is_follow_up("What is debt bondage?")
    assert standalone("Why?", []) == "Why?"


def test_a_new_modifier_for_the_same_head_noun_replaces_its_namesake():
    prev = "What were the top risk factors for sex trafficking victims during the pandemic?"
    assert standalone("What about labor trafficking?", [(prev, "...")]) == (
        "What were the top risk factors for labor trafficking victims during the pandemic?")
    # no shared head noun: the follow-up keeps its words and carries the question before it
    assert standalone("What about forced begging?", [("How many victims of forced labour were detected?", "...")]) == (
        "What about forced begging (How many victims of forced labour were detected)?")


def test_a_pronoun_among_the_first_words_points_back_to_the_conversation():
    for follow in ("Has its share of all detected victims grown since 2016?",
                   "What share of them had experienced sex trafficking, and what share labor trafficking?"):
        assert is_follow_up(follow), follow
        got = standalone(follow, [(FIRST, "...")])
        assert got.startswith(follow.rstrip("?")) and "Hotline identify in 2021" in got, got
    # a pronoun after the question has named its subject points inside the question
    assert not is_follow_up("Which sectors does the Department of Labor list as having forced labor, and where are they?")


def test_that_before_a_noun_points_back_and_earlier_turns_are_carried_flat():
    for follow in ("How was that estimate made?", "How does that compare with Asia?", "Who sponsored that bill?"):
        assert is_follow_up(follow), follow
    for own in ("Does the guide say that teachers are mandated reporters?",
                "How many of the victims that were identified were minors?"):
        assert not is_follow_up(own), own
    history = [(FIRST, "..."), ("How was that estimate made?", "...")]
    got = standalone("Who checked that figure?", history)
    assert got == "Who checked that figure (How was that estimate made; How many likely victims did the Hotline identify in 2021)?"
