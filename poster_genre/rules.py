"""Every rule the project decides by, written once, in numpy: serving, training, export and the benchmarks import it.

- the logit and the sigmoid between probabilities and scores;
- the tag rule: a genre is a tag where its probability is at or above its threshold;
- the fusion of the poster with a title and year: a logistic layer per genre over the two logits;
- the serving rule: which learned genres a model serves;
- the int8 rule: when the int8 copy may be served instead of fp32.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

FIRST_GENRES = ("Action", "Comedy", "Drama", "Romance", "Thriller")  # served by every model, always first


def logit(probabilities: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), float64, with p clipped to [1e-7, 1 - 1e-7]."""
    p = np.clip(np.asarray(probabilities, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def sigmoid(scores: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-scores))


def tagged(probabilities: np.ndarray, thresholds: Mapping[str, float], labels: Sequence[str]) -> np.ndarray:
    """The tag rule: boolean, the shape of `probabilities` (genres last), true where a genre's probability is at
    or above its threshold."""
    return np.asarray(probabilities) >= np.array([thresholds[genre] for genre in labels])


def fused(weights: np.ndarray, poster_probabilities: np.ndarray, text_logits: np.ndarray) -> np.ndarray:
    """The fusion: per genre, sigmoid(w_poster * logit(poster) + w_text * text logit + bias); `weights` is
    (genres, 3) in that order. Float64, the shape of the probabilities."""
    return sigmoid(weights[:, 0] * logit(poster_probabilities) + weights[:, 1] * text_logits + weights[:, 2])


def serving_rule(min_films: int, min_lift: float) -> str:
    """The serving rule in words, as the report and the card say it."""
    return (f"the five genres always; another genre when at least {min_films} training films carry it and its IMDb "
            f"validation AP is at least {min_lift:g} times its base rate")


def served(genre: str, training_films: int, lift: float, min_films: int, min_lift: float) -> bool:
    """The serving rule: the five genres always; another when it has `min_films` training films and an IMDb
    validation AP at least `min_lift` times its base rate."""
    return genre in FIRST_GENRES or (training_films >= min_films and lift >= min_lift)


INT8_MAX_DROP = 0.005  # IMDb mAP and top-1-in-genres may fall by less than this
INT8_TMDB_SE = 2.0  # TMDB accuracy may fall by at most this many paired-bootstrap standard errors
INT8_MIN_SPEEDUP = 1.5
INT8_IDENTITY_TOLERANCE = 0.05  # the activation maps must still average to the logits within this
INT8_RULE = ("on every calibration draw: IMDb mAP and top-1-in-genres each drop by less than "
             f"{INT8_MAX_DROP}, TMDB accuracy is not worse by more than {INT8_TMDB_SE:g} paired-bootstrap standard "
             "errors, the activation maps still average to the logits, and int8 is at least "
             f"{INT8_MIN_SPEEDUP}x faster than fp32 at batch 1 in the same run")


def int8_passes(figures: Mapping[str, Mapping[str, float]], identity_error: float) -> dict[str, bool]:
    """The int8 rule's checks on one calibration draw: `figures` are int8 against fp32 (paired differences)."""
    tmdb = figures["tmdb_accuracy"]
    return {"imdb_mAP": figures["imdb_mAP"]["difference"] > -INT8_MAX_DROP,
            "imdb_top1_in_genres": figures["imdb_top1_in_genres"]["difference"] > -INT8_MAX_DROP,
            "tmdb_accuracy": tmdb["difference"] > -INT8_TMDB_SE * tmdb["se_difference"],
            "maps_identity": identity_error < INT8_IDENTITY_TOLERANCE}


def int8_served(draws: Sequence[Mapping[str, bool]], speedup: float) -> bool:
    """The int8 rule over every draw's checks and the measured speed-up."""
    return all(all(passes.values()) for passes in draws) and speedup >= INT8_MIN_SPEEDUP
