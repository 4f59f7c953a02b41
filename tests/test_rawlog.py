"""raw.jsonl: a model's answer rebuilt from its raw text and passages, as eval_local keeps them for rescoring.

A canned chat model (LangChain's fake) writes the answer; the real cite and verify steps run
on it before and after the JSON round trip.
"""

from __future__ import annotations

import json
from dataclasses import replace

from assistant.answerers.verify import verify_answer
from assistant.evaluation.rawlog import raw_line, reverify

from .test_llm_answerer import fake_answerer, make_hits

RAW = (
    "In 2019 the agency identified 1,245 victims of trafficking [1]. "
    "Shelters offer legal aid and medical care [3]. "
    "The agency also doubled its budget in 2020 [2]."  # invented: the verifier removes it
)


def asked(raw: str = RAW):
    hits = make_hits()
    ans = verify_answer(fake_answerer(raw).answer("How many victims did the agency identify?", hits))
    # as the chain leaves it: every hit, the gate's admitted passages, the question the model was asked
    return replace(ans, hits=hits, gate={"answerable": True, "admissible": [0, 1, 2]},
                   standalone_question="How many victims did the agency identify?")


def test_the_answer_keeps_the_models_raw_text():
    assert asked().raw == RAW


def test_a_raw_line_rebuilds_the_same_verified_answer():
    ans = asked()
    line = json.loads(json.dumps(raw_line("dev", "q1", ans, 1234.0, k=5)))
    again = reverify(line)
    assert line["asked_model"] and line["read"] == [0, 1, 2]
    assert again.text == ans.text and "doubled" not in again.text
    assert [(c.chunk_id, c.span) for c in again.citations] == [(c.chunk_id, c.span) for c in ans.citations]
    assert again.unsupported == ans.unsupported == ["The agency also doubled its budget in 2020."]


def test_only_the_passages_the_model_read_can_be_cited():
    ans = replace(asked("Shelters offer legal aid and medical care [1]."), gate={"answerable": True, "admissible": [2]})
    line = raw_line("dev", "q1", ans, 1.0, k=5)
    again = reverify(line)
    assert [c.chunk_id for c in again.citations] == ["doc-3"]


def test_an_extractive_answer_has_nothing_to_rebuild():
    ans = replace(asked(), backend="extractive", raw="")
    assert not raw_line("dev", "q1", ans, 1.0, k=5)["asked_model"]
