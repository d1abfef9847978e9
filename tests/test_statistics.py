"""The statistics behind the reported figures (benchmarks/thresholds.py, benchmarks/noise.py), on
posters with known answers."""

from __future__ import annotations

import numpy as np

from benchmarks.thresholds import compare
from poster_genre.rules import FIRST_GENRES
from train.metrics import mean_average_precision, paired_bootstrap, top1_in_genres


def test_separable_scores_are_tagged_perfectly_in_and_out_of_sample():
    rng = np.random.default_rng(0)
    truth = rng.random((200, len(FIRST_GENRES))) < 0.3
    probs = np.where(truth, rng.uniform(0.6, 0.9, truth.shape), rng.uniform(0.1, 0.4, truth.shape))
    result = compare(truth, probs, folds=5, seed=0)
    assert result["in_sample"]["macro"] == result["cross_fitted"]["macro"] == 1.0
    assert all(0.4 <= low <= high <= 0.6 for low, high in result["fold_thresholds"].values())


def test_cross_fitting_pays_for_thresholds_fitted_to_noise_and_the_floor_keeps_most_noise_untagged():
    rng = np.random.default_rng(1)
    truth = rng.random((300, len(FIRST_GENRES))) < 0.4
    probs = rng.random(truth.shape)  # scores that know nothing
    result = compare(truth, probs, folds=5, seed=0)
    assert result["cross_fitted"]["macro"] < result["in_sample"]["macro"]
    assert sum(t is None for t in result["thresholds"].values()) >= len(FIRST_GENRES) - 1  # a probability only


def test_a_model_against_itself_differs_by_nothing_and_a_better_one_stands_out():
    rng = np.random.default_rng(2)
    truth = rng.random((400, len(FIRST_GENRES))) < 0.3
    noisy = rng.random(truth.shape)
    informed = np.clip(noisy * 0.5 + truth * 0.5, 0, 1)
    same = paired_bootstrap(mean_average_precision, truth, noisy, noisy, resamples=200)
    assert same["difference"] == same["se_difference"] == 0 and same["se_ours"] > 0
    better = paired_bootstrap(top1_in_genres, truth, informed, noisy, resamples=200)
    assert better["ours"] > better["theirs"] and better["standard_errors_apart"] > 5
    assert better["se_difference"] > 0
