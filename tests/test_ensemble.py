"""The served model is an ensemble in one graph: every member's top on one frozen bottom, one pooled head whose
logits are the mean of the members', and whose activation maps are the mean of theirs."""

from __future__ import annotations

import onnx
import pytest

from poster_genre import GenreClassifier
from tests.conftest import INT8, MODEL, require_card


@pytest.fixture(scope="module", params=[MODEL, INT8], ids=["fp32", "int8"])
def served(request) -> GenreClassifier:
    return GenreClassifier(request.param)


def test_the_card_names_the_members_and_each_alone_against_the_ensemble(served):
    require_card(served.card, "members")
    members = served.card.members
    assert len(members) >= 2 and len({m["seed"] for m in members}) == len(members)
    for member in members:
        versus = member["ensemble_versus_member"]["imdb_mAP"]
        assert versus["ours"] == pytest.approx(versus["theirs"] + versus["difference"], abs=2e-4)


def test_one_graph_one_pooled_head_over_every_members_features():
    require_card(GenreClassifier(MODEL).card, "members")
    graph = onnx.load(str(MODEL)).graph
    pools = [n for n in graph.node if n.op_type == "GlobalAveragePool"]
    assert len(pools) == 1  # one head
    joined = next(n for n in graph.node if pools[0].input[0] in n.output)
    assert joined.op_type == "Concat" and len(joined.input) == len(GenreClassifier(MODEL).card.members)
