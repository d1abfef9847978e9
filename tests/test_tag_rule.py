"""A tag is a promise: the tag rule on known data, and the served model's card and answers keeping it."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.non_posters import non_posters
from poster_genre.rules import (
    TAG_MIN_PRECISION,
    TAG_MIN_RECALL,
    prior_shift,
    tag_threshold,
    tagged,
)
from tests.conftest import require_card
from train.metrics import precision_recall_f1, tag_statuses


def test_a_genre_whose_tags_can_be_right_half_the_time_gets_the_best_threshold_that_keeps_the_floor():
    rng = np.random.default_rng(0)
    truth = rng.random(2000) < 0.1
    probs = np.clip(np.where(truth, 0.55, 0.3) + rng.normal(0, 0.15, 2000), 0, 1)
    threshold = tag_threshold(truth, probs)
    assert threshold is not None
    precision, recall, _ = precision_recall_f1(truth, probs >= threshold)
    assert precision >= TAG_MIN_PRECISION and recall >= TAG_MIN_RECALL
    lower = round(threshold - 0.01, 2)  # the next threshold down either breaks the floor or has a worse F1
    below = precision_recall_f1(truth, probs >= lower)
    assert below[0] < TAG_MIN_PRECISION or below[2] <= precision_recall_f1(truth, probs >= threshold)[2]


def test_a_genre_whose_tags_are_usually_wrong_is_a_probability_only_and_never_tagged():
    rng = np.random.default_rng(1)
    truth = rng.random(2000) < 0.03
    probs = rng.random(2000)  # no signal: tags right about 3% of the time
    assert tag_threshold(truth, probs) is None
    status = tag_statuses(truth[:, None].astype(float), probs[:, None], {"Short": None}, ("Short",))["Short"]
    assert status["tagged"] is False and "right at most" in status["reason"]
    assert not tagged(np.ones((3, 1)), {"Short": None}, ("Short",)).any()  # not even at probability 1


def test_the_prior_shift_moves_no_ranking_only_which_genre_comes_first():
    shift = prior_shift(np.array([0.6, 0.1]), np.array([0.3, 0.3]))
    assert shift[0] < 0 < shift[1]
    logits = np.array([[1.0, -0.5], [0.2, -1.5], [-0.3, -0.4]])
    moved = logits + shift
    assert (np.argsort(moved, axis=0) == np.argsort(logits, axis=0)).all()
    assert (moved.argmax(1) != logits.argmax(1)).any()


def test_every_served_tag_was_right_at_least_half_the_time_on_validation_films(classifier):
    card = classifier.card
    require_card(card, "tag_status")
    assert set(card.tag_status) == set(card.labels), "the card says each genre's tag status"
    for genre, status in card.tag_status.items():
        assert status["tagged"] is (card.thresholds[genre] is not None)
        if status["tagged"]:
            assert status["precision"] >= TAG_MIN_PRECISION and status["recall"] >= TAG_MIN_RECALL
            low, high = status["precision_interval"]
            assert low <= status["precision"] <= high
    text = classifier.text.card
    for mode, statuses in text.tag_status.items():
        for genre, status in statuses.items():
            assert status["tagged"] is (text.thresholds[mode][genre] is not None)
            assert not status["tagged"] or status["precision"] >= TAG_MIN_PRECISION


def test_a_probability_only_genre_is_never_tagged_but_keeps_its_probability(classifier, examples_dir):
    require_card(classifier.card, "tag_status")
    only = {g for g, t in classifier.card.thresholds.items() if t is None}
    if not only:
        pytest.skip("every genre of the served model is tagged: none is a probability only")
    images = [*sorted(examples_dir.glob("*.jpg")), *non_posters().values()]
    for answer in classifier.classify(images, top_k="all", read_words=False):  # the poster's own mode
        assert not only & set(answer.genres)
        assert {p.label for p in answer.ranked} == set(classifier.labels)
    certain = np.ones(len(classifier.labels))  # every genre at probability 1: exactly the tagged genres of each mode
    modes = classifier.text.card.thresholds if classifier.text is not None else {}
    for mode, thresholds in {None: classifier.card.thresholds, **modes}.items():
        assert set(classifier.tags(certain, mode=mode)) == {g for g, t in thresholds.items() if t is not None}
