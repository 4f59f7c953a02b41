"""The LLM answerer end to end with LangChain's fake chat models (no server).

The real LCEL runnable (prompt | model | parser) runs; only the model is canned. Checks that
citations are renumbered and point at the right passages, impossible markers are dropped,
unsupported sentences are flagged, refusals are recognised, and streaming yields deltas.
"""

from __future__ import annotations

import importlib.util
import socket

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.answerers import get_answerer
from assistant.answerers.backends import make_chat_model
from assistant.answerers.base import REFUSAL_TEXT
from assistant.answerers.llm import LLMAnswerer, get_llm_answerer
from assistant.answerers.markers import answer_sentences, renumber
from assistant.answerers.verify import postprocess, verify_answer
from assistant.errors import BackendError
from assistant.records import Answer, Chunk, Hit

PASSAGES = [
    "In 2019 the agency identified 1,245 victims of trafficking. "
    "Most victims were recruited through false job offers abroad.",
    "Labour exploitation was the most common form, especially in the construction sector. "
    "Sexual exploitation remained widespread in the capital.",
    "The national action plan funds shelters for survivors in five regions. "
    "Shelters offer legal aid and medical care.",
]


def make_hits(texts=PASSAGES) -> list[Hit]:
    hits = []
    for i, text in enumerate(texts, 1):
        chunk = Chunk(
            chunk_id=f"doc-{i}", doc_id="doc", file="report.pdf", title="Annual report", text=text,
            page_start=10 + i, page_end=10 + i, page_label=str(10 + i), section="Findings",
            start=0, end=len(text), index=i - 1,
        )
        hits.append(Hit(chunk=chunk, score=1.0 / i, rank=i))
    return hits


def fake_answerer(*replies: str) -> LLMAnswerer:
    return LLMAnswerer(GenericFakeChatModel(messages=iter(AIMessage(content=r) for r in replies)), name="fake")


def verified(answerer: LLMAnswerer, question: str, hits: list[Hit]) -> Answer:
    """What the chain shows: the model's cited answer after the per-sentence verifier."""
    return verify_answer(answerer.answer(question, hits))


def passage_piece(citation) -> str:
    s, e = citation.span
    return citation.text[s:e]


def test_answer_renumbers_citations_in_order_of_first_use():
    hits = make_hits()
    reply = (
        "Labour exploitation was the most common form, mostly in construction [2]. "
        "The agency identified 1,245 victims in 2019 [1]. "
        "Most of them were recruited through false job offers abroad [1][2]."
    )
    ans = verified(fake_answerer(reply), "What did the report find?", hits)

    assert isinstance(ans, Answer) and not ans.refused
    assert ans.text == (
        "Labour exploitation was the most common form, mostly in construction [1]. "
        "The agency identified 1,245 victims in 2019 [2]. "
        "Most of them were recruited through false job offers abroad [2][1]."
    )
    assert [c.n for c in ans.citations] == [1, 2]
    assert [c.chunk_id for c in ans.citations] == ["doc-2", "doc-1"]
    assert [c.page for c in ans.citations] == [12, 11]
    assert all(c.supported for c in ans.citations) and ans.unsupported == []
    # each span is the passage sentence that supports the answer sentence
    assert passage_piece(ans.citations[0]).startswith("Labour exploitation was the most common form")
    assert passage_piece(ans.citations[1]) == "In 2019 the agency identified 1,245 victims of trafficking."
    assert ans.backend == "fake" and ans.hits == hits
    assert ans.timings_ms["llm_ms"] >= 0


def test_markers_citing_no_passage_are_removed():
    hits = make_hits()
    reply = "The agency identified 1,245 victims in 2019 [7]. Shelters offer legal aid and medical care [0][3, 9]."
    ans = verified(fake_answerer(reply), "q", hits)
    assert "[7]" not in ans.text and "[0]" not in ans.text and "9]" not in ans.text
    assert ans.text == "Shelters offer legal aid and medical care [1]."
    assert [c.chunk_id for c in ans.citations] == ["doc-3"]
    # the sentence whose only marker was bogus is now uncited: removed, and reported
    assert ans.unsupported == ["The agency identified 1,245 victims in 2019."]


def test_unsupported_sentence_is_flagged():
    hits = make_hits()
    reply = (
        "The agency identified 1,245 victims in 2019 [1]. "
        "The government doubled shelter funding in 2021 [3]. "
        "The agency identified 3,000 victims of trafficking [1]."
    )
    ans = verified(fake_answerer(reply), "q", hits)
    assert not ans.refused
    assert ans.text == "The agency identified 1,245 victims in 2019 [1]."  # the unsupported sentences are removed
    assert ans.unsupported == [
        "The government doubled shelter funding in 2021.",  # 2021 and "doubled funding" are not in passage 3
        "The agency identified 3,000 victims of trafficking.",  # the number is wrong
    ]
    # the citation only an unsupported sentence used is gone; the rest are supported
    assert [(c.chunk_id, c.supported) for c in ans.citations] == [("doc-1", True)]


def test_refusal_is_recognised_and_has_no_citations():
    ans = fake_answerer(REFUSAL_TEXT).answer("Who won the 1998 World Cup?", make_hits())
    assert ans.refused and ans.citations == [] and ans.text == REFUSAL_TEXT and ans.unsupported == []


def test_a_refusal_followed_by_a_cited_partial_answer_is_kept():
    reply = f"{REFUSAL_TEXT} Shelters offer legal aid and medical care [3]."
    ans = fake_answerer(reply).answer("q", make_hits())
    assert not ans.refused and [c.chunk_id for c in ans.citations] == ["doc-3"]
    assert ans.unsupported == []  # the refusal sentence itself needs no citation


def test_answer_citing_nothing_becomes_a_refusal():
    ans = fake_answerer("Trafficking is a crime everywhere.").answer("q", make_hits())
    assert ans.refused and ans.text == REFUSAL_TEXT and ans.citations == []
    assert ans.unsupported == ["Trafficking is a crime everywhere."]


def test_no_hits_refuses_without_calling_the_model():
    replies = iter([AIMessage(content="The agency identified 1,245 victims [1].")])
    answerer = LLMAnswerer(GenericFakeChatModel(messages=replies), name="fake")
    ans = answerer.answer("q", [])
    streamed = list(answerer.stream("q", []))
    assert ans.refused and ans.text == REFUSAL_TEXT
    assert len(streamed) == 1 and isinstance(streamed[0], Answer) and streamed[0].refused
    assert next(replies).content.startswith("The agency")  # the model never consumed its reply


def test_stream_yields_deltas_then_the_final_answer():
    reply = "Labour exploitation was the most common form [2]. Shelters offer legal aid [3][8]."
    items = list(fake_answerer(reply).stream("q", make_hits()))
    deltas, final = items[:-1], items[-1]
    assert len(deltas) > 5 and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == reply  # the raw model text, as it arrived
    assert isinstance(final, Answer)
    assert final.text == "Labour exploitation was the most common form [1]. Shelters offer legal aid [2]."
    assert [c.chunk_id for c in final.citations] == ["doc-2", "doc-3"]
    assert "first_token_ms" in final.timings_ms and final.timings_ms["llm_ms"] >= final.timings_ms["first_token_ms"]


def test_registry_builds_the_fake_backend_and_cycles_responses():
    answerer = get_answerer("fake", responses=["Shelters offer legal aid and medical care [3].", REFUSAL_TEXT])
    assert isinstance(answerer, LLMAnswerer) and isinstance(answerer.chat_model, FakeListChatModel)
    first = answerer.answer("q", make_hits())
    second = answerer.answer("q", make_hits())
    assert first.citations[0].chunk_id == "doc-3" and not first.refused
    assert second.refused
    items = list(answerer.stream("q", make_hits()))  # cycles back to the first reply, char by char
    assert len(items) > 10 and items[-1].citations[0].chunk_id == "doc-3"


def test_condense_rewrites_follow_ups_and_skips_the_model_without_history():
    model = FakeListChatModel(responses=['"How many victims were identified in Moldova in 2019?"'])
    answerer = LLMAnswerer(model, name="fake")
    assert answerer.condense("And in 2019?", None) == "And in 2019?"
    history = [("How many victims were identified in Moldova in 2018?", "312 victims [1].")]
    assert answerer.condense("And in 2019?", history) == "How many victims were identified in Moldova in 2019?"


# --------------------------------------------------------------------------- backends


def test_unknown_backend_lists_valid_names():
    with pytest.raises(BackendError) as err:
        get_answerer("gpt5-turbo")
    assert "ollama" in str(err.value) and "openai" in str(err.value) and "llamacpp" in str(err.value)


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is not None, reason="llama-cpp-python is installed")
def test_llamacpp_without_the_package_names_the_extra():
    with pytest.raises(BackendError, match=r"pip install 'assistant\[llm\]'"):
        make_chat_model("llamacpp", model_path="model.gguf")


def test_openai_without_url_or_key_is_a_clear_error(monkeypatch):
    for var in ("ASSISTANT_LLM_BASE_URL", "OPENAI_BASE_URL", "ASSISTANT_LLM_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(BackendError, match="ASSISTANT_LLM_BASE_URL"):
        make_chat_model("openai")


def test_ollama_model_in_name_and_env(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0")
    answerer = get_llm_answerer("ollama:qwen2.5:3b")
    assert answerer.chat_model.model == "qwen2.5:3b"
    assert answerer.chat_model.base_url == "http://127.0.0.1:11434"
    assert answerer.name == "ollama"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ollama_down_is_a_one_line_backend_error():
    url = f"http://127.0.0.1:{_closed_port()}"
    answerer = get_answerer("ollama", base_url=url, model="llama3.2")
    for call in (lambda: answerer.answer("q", make_hits()), lambda: list(answerer.stream("q", make_hits()))):
        with pytest.raises(BackendError) as err:
            call()
        assert str(err.value).startswith(f"LLM server at {url} is not reachable")
        assert "\n" not in str(err.value)


# --------------------------------------------------------------------------- verify (pure functions)


def test_marker_forms_are_parsed():
    text, order = renumber("A [2, 3]. B [Passage 1]. C [3][2]. D [1-2]. E [4].", 3)
    assert order == [2, 3, 1]
    assert text == "A [1][2]. B [3]. C [2][1]. D [3][1]. E."


def test_markers_after_the_full_stop_stay_with_their_sentence():
    assert answer_sentences("A is true. [1] B is true [2].\n- C item [3]\n2. D item [1]") == [
        "A is true. [1]",
        "B is true [2].",
        "C item [3]",
        "D item [1]",
    ]


def test_postprocess_without_hits_never_invents_citations():
    clean, citations, unsupported = postprocess("Something [1].", [])
    assert clean == REFUSAL_TEXT and citations == [] and unsupported == ["Something."]


def test_embedding_similarity_rescues_a_paraphrase(embedder):
    """Real MiniLM embeddings: a paraphrase with little word overlap passes, an unrelated claim does not."""
    hits = make_hits()
    reply = (
        "Fraudulent work offers in foreign countries were used to recruit most victims [1]. "
        "Traffickers are mostly foreign nationals [3]."
    )
    paraphrase = "Fraudulent work offers in foreign countries were used to recruit most victims."
    invented = "Traffickers are mostly foreign nationals."
    text, _, lexical_only = postprocess(reply, hits)
    assert lexical_only == [paraphrase, invented] and text == REFUSAL_TEXT
    text, citations, with_embeddings = postprocess(reply, hits, embedder=embedder)
    assert with_embeddings == [invented]
    assert text == paraphrase[:-1] + " [1]." and [(c.chunk_id, c.supported) for c in citations] == [("doc-1", True)]


def test_a_supported_sentence_left_uncited_gets_its_passage_and_an_unsupported_one_does_not():
    """Small models state the right fact and drop its marker: the verifier's own test repairs it."""
    reply = "The agency identified 1,245 victims of trafficking in 2019. Their families received cash grants from the ministry."
    ans = verified(fake_answerer(reply), "How many victims did the agency identify in 2019?", make_hits())
    assert ans.text == "The agency identified 1,245 victims of trafficking in 2019. [1]"
    assert [c.chunk_id for c in ans.citations] == ["doc-1"]
    assert ans.unsupported == ["Their families received cash grants from the ministry."]


def test_llm_threads_come_from_the_environment(monkeypatch):
    from assistant.answerers.backends import llm_threads

    monkeypatch.setenv("ASSISTANT_LLM_THREADS", "1")
    assert llm_threads() == 1
    monkeypatch.setenv("ASSISTANT_LLM_THREADS", "two")
    with pytest.raises(BackendError, match="ASSISTANT_LLM_THREADS"):
        llm_threads()
    monkeypatch.setenv("ASSISTANT_LLM_THREADS", "0")
    with pytest.raises(BackendError, match="at least 1"):
        llm_threads()
    monkeypatch.delenv("ASSISTANT_LLM_THREADS")
    assert llm_threads() >= 1


def test_a_sentence_half_invented_is_removed_though_its_word_share_passes():
    # half its content words are the passage's, half the model's own: the sentence share is 0.5, the clause's 0
    half = "Most victims were recruited through false job offers abroad, which shows that the government must fund more border patrols [1]."
    ans = verified(fake_answerer(f"In 2019 the agency identified 1,245 victims of trafficking [1]. {half}"), "How were victims recruited?", make_hits())
    assert "border patrols" not in ans.text and "1,245 victims" in ans.text
    assert ans.unsupported == [half.replace(" [1]", "")]
    # the same sentence without the invented clause is kept
    ans = verified(fake_answerer("Most victims were recruited through false job offers abroad, mostly by acquaintances [1]."),
                   "How were victims recruited?", make_hits())
    assert not ans.refused and "false job offers abroad" in ans.text


def test_a_bare_figure_is_cited_to_the_passage_that_states_it():
    ans = verified(fake_answerer("1,245."), "How many victims did the agency identify in 2019?", make_hits())
    assert not ans.refused and ans.text == "1,245. [1]" and ans.citations[0].chunk_id == "doc-1"
    ans = verified(fake_answerer("9,999."), "How many victims did the agency identify in 2019?", make_hits())
    assert ans.refused  # a figure no passage states stays uncited and is removed


def test_a_repeated_sentence_is_kept_once():
    ans = verified(fake_answerer("Shelters offer legal aid and medical care [3]. Labour exploitation was the most common form [2]. "
                                 "Shelters offer legal aid and medical care [3]."), "What do shelters offer?", make_hits())
    assert ans.text == "Shelters offer legal aid and medical care [1]. Labour exploitation was the most common form [2]."
    assert ans.unsupported == []


def test_roman_numeral_items_and_us_abbreviations_split_as_a_reader_would():
    assert answer_sentences("Drivers include: i. Conflict [1]. ii. Weak governance [2].\niv. Poverty [3]") == [
        "Drivers include:", "Conflict [1].", "Weak governance [2].", "Poverty [3]"]
    assert answer_sentences("The U.S. Department of State funds shelters [1]. In the U.S. [2] Most are women.") == [
        "The U.S. Department of State funds shelters [1].", "In the U.S. [2]", "Most are women."]


def test_a_sentence_restating_the_reports_title_is_supported_by_the_title():
    hits = make_hits()
    for h in hits:
        h.chunk.title = "Annual report 2019-2020 of the Agency"
    said = "The Agency's 2019-2020 annual report says shelters offer legal aid and medical care."
    ans = verified(fake_answerer(said), "What does the Agency's annual report say shelters offer?", hits)
    assert not ans.refused and ans.citations[0].chunk_id == "doc-3"
    # the title's year does not vouch for another year
    ans = verified(fake_answerer(said.replace("2019-2020", "2021")), "What does the Agency's annual report say shelters offer?", hits)
    assert ans.refused


def test_a_share_read_as_a_count_is_not_supported():
    """The misattributed figure: '10 per cent of the people' restated as '10 people'."""
    from assistant.answerers.verify import supports

    passage = "The number of people convicted in 2022 represents only 10 per cent of the people investigated in 2020."
    assert not supports("In 2022, 10 people were convicted of trafficking.", passage)[0]
    assert supports("In 2022, those convicted were only 10 per cent of the people investigated in 2020.", passage)[0]
    assert supports("Only 10% of the people investigated in 2020 were convicted in 2022.", passage)[0]


def test_a_figure_read_off_something_else_is_not_supported():
    """The guide's case: an ISBN read as dollars; and a chart axis's bare '10' read as a count of people."""
    from assistant.answerers.verify import misattributed, supports

    passage = ("ISBN 978-92-1-133022-3. In 2021 the fund granted 4,000 dollars to 12 shelters.\n"
               "Figure 2. Cases per month 10 15 20 25. Only 10 per cent of identified victims were men.")
    assert misattributed("The fund granted 978 dollars to shelters.", passage) == ["978"]
    assert not supports("The fund granted 978 dollars to shelters.", passage)[0]
    assert supports("The fund granted 4,000 dollars to 12 shelters in 2021.", passage)[0]
    assert misattributed("Only 10 victims identified were men.", passage) == ["10"]  # the axis's 10 counts nothing
    assert misattributed("Only 10% of identified victims were men.", passage) == []
    # a figure that stands bare among figures (a table cell) cannot be judged by its neighbours
    assert misattributed("Reported cases reached 1,377 in 2021.", "Cases reported\n2020 2021\n1,204 1,377") == []
    table = "Region 2020 2021\nAfrica 1,204 1,377\nEurope 880 912"  # a row names what its cells count
    assert misattributed("Reported cases in Africa reached 1,377 in 2021.", table) == []
    assert misattributed("Reported cases in Europe reached 1,377 in 2021.", table) == ["1377"]
    assert misattributed("There were 912.", "Europe reported 912 cases.") == []  # nothing said beside it
