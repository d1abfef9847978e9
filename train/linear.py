"""One logistic regression per genre (scikit-learn's liblinear), the genres fitted on every core: the text and words
models' fit."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression


def fit_genre(x: sparse.csr_matrix, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """One genre's logistic regression on the rows whose label is known (zeros when they hold one class only)."""
    known = y >= 0
    if len(np.unique(y[known])) < 2:
        return np.zeros(x.shape[1], np.float32), 0.0
    model = LogisticRegression(C=c, solver="liblinear", max_iter=200).fit(x[known], y[known])
    return model.coef_[0], float(model.intercept_[0])


def fit_linear(x: sparse.csr_matrix, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per genre, the genres on every core (liblinear lets go of the GIL):
    (weights (BUCKETS, G), bias (G,))."""
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        fitted = list(pool.map(lambda g: fit_genre(x, y[:, g], c), range(y.shape[1])))
    return (np.stack([w for w, _ in fitted], axis=1).astype(np.float32),
            np.array([b for _, b in fitted], np.float32))
