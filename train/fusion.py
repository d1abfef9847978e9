"""The fusion of the poster's logit with the title and year's and the words': per genre and mode, a logistic layer
over the logits the mode uses, fitted on out-of-fold predictions of the training posters."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from poster_genre.rules import fused


def fit_fusion(image: np.ndarray, text: np.ndarray, words: np.ndarray, y: np.ndarray, mode: str) -> np.ndarray:
    """Per genre, (poster weight, text weight, words weight, bias) of a logistic layer over the logits `mode`
    uses, on the rows that have them and a known label (an unused logit's weight is 0)."""
    parts = mode.split("+")
    used = [k for k, present in ((1, "title" in parts or "year" in parts), (2, "words" in parts)) if present]
    columns = {1: text, 2: words}
    weights = np.tile([1.0, 0.0, 0.0, 0.0], (y.shape[1], 1))
    for g in range(y.shape[1]):
        rows = (y[:, g] >= 0) & np.all([~np.isnan(columns[k][:, g]) for k in used], axis=0)
        if len(np.unique(y[rows, g])) < 2:
            continue
        model = LogisticRegression(C=1.0).fit(np.column_stack([image[rows, g], *(columns[k][rows, g] for k in used)]),
                                              y[rows, g])
        weights[g, [0, *used]], weights[g, 3] = model.coef_[0], model.intercept_[0]
    return weights


def fuse(weights: np.ndarray, poster: np.ndarray, text: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Fused probabilities (N, G); the poster's where a row lacks a logit its mode uses (weight not 0)."""
    text_used, words_used = weights[:, 1] != 0, weights[:, 2] != 0
    missing = (np.isnan(text) & text_used) | (np.isnan(words) & words_used)
    return np.where(missing, poster, fused(weights, poster, np.nan_to_num(text), np.nan_to_num(words)))


def text_part(mode: str) -> str:
    """The title and year part of a mode ("title+year+words" -> "title+year"; "" for "words")."""
    return "+".join(part for part in mode.split("+") if part != "words")
