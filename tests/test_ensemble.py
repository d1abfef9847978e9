"""The served model's members (`train.train --members`, one by default): each named in the card with its seed and, when
there are several, against their ensemble; one graph with one pooled head over every member's features. The
two-member path itself is trained, exported and checked end to end in test_train_export."""

from __future__ import annotations

import onnx
import pytest

from poster_genre import GenreClassifier
from tests.conftest import MODEL, require_card


def test_the_card_names_every_member_and_each_alone_against_the_ensemble(classifier):
    require_card(classifier.card, "members")
    members = classifier.card.members
    assert len({m["seed"] for m in members}) == len(members) >= 1
    for member in members:
        versus = member["ensemble_versus_member"]["imdb_mAP"]
        assert versus["ours"] == pytest.approx(versus["theirs"] + versus["difference"], abs=2e-4)


def test_one_graph_one_pooled_head_over_every_members_features():
    card = GenreClassifier(MODEL).card
    require_card(card, "members")
    members = len(card.members)
    graph = onnx.load(str(MODEL)).graph
    [pool] = [n for n in graph.node if n.op_type == "GlobalAveragePool"]  # one head
    joined = next(n for n in graph.node if pool.input[0] in n.output)
    assert (joined.op_type == "Concat" and len(joined.input) == members) if members > 1 else joined.op_type != "Concat"
