"""The cross-fitted threshold check of benchmarks/thresholds.py on posters with known answers."""

from __future__ import annotations

import numpy as np

from benchmarks.thresholds import compare
from poster_genre.labels import GENRES


def test_separable_scores_are_tagged_perfectly_in_and_out_of_sample():
    rng = np.random.default_rng(0)
    truth = rng.random((200, len(GENRES))) < 0.3
    probs = np.where(truth, rng.uniform(0.6, 0.9, truth.shape), rng.uniform(0.1, 0.4, truth.shape))
    result = compare(truth, probs, folds=5, seed=0)
    assert result["in_sample"]["macro"] == result["cross_fitted"]["macro"] == 1.0
    assert all(0.4 <= low <= high <= 0.6 for low, high in result["fold_thresholds"].values())


def test_cross_fitting_pays_for_thresholds_fitted_to_noise():
    rng = np.random.default_rng(1)
    truth = rng.random((300, len(GENRES))) < 0.3
    probs = rng.random(truth.shape)  # scores that know nothing
    result = compare(truth, probs, folds=5, seed=0)
    assert result["cross_fitted"]["macro"] < result["in_sample"]["macro"]
