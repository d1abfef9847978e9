"""Every rule the project decides by, written once, in numpy: serving, training, export and the benchmarks import it.

- the logit and the sigmoid between probabilities and scores;
- the tag rule: a genre is a tag where its probability is at or above its threshold, and it has a threshold only
  where its tags were right at least half the time on the validation films (else it is a probability only);
- the review rule: which posters a person should look at (an unsure answer, or an image unlike a film poster);
- the prior a model assumes: its logits moved from its training films' genre rates to a stated prior's;
- the fusion of the poster with a title and year and the words on it: a logistic layer per genre over the poster's
  logit and each other input's;
- the serving rule: which learned genres a model serves;
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

FIRST_GENRES = ("Action", "Comedy", "Drama", "Romance", "Thriller")  # served by every model, always first


def logit(probabilities: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), float64, with p clipped to [1e-7, 1 - 1e-7]."""
    p = np.clip(np.asarray(probabilities, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def sigmoid(scores: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-scores))


def tagged(probabilities: np.ndarray, thresholds: Mapping[str, float | None], labels: Sequence[str]) -> np.ndarray:
    """The tag rule: boolean, the shape of `probabilities` (genres last), true where a genre's probability is at
    or above its threshold; a genre without one (None: a probability only) is never tagged."""
    limits = np.array([np.inf if thresholds[genre] is None else thresholds[genre] for genre in labels])
    return np.asarray(probabilities) >= limits


TAG_MIN_PRECISION = 0.5  # a tag is a promise: right at least half the time on the validation films
TAG_MIN_RECALL = 0.1  # ...while still finding some of the genre's films; else the genre is a probability only
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
TAG_RULE = (f"a genre is tagged at the threshold (grid 0.05..0.95) with the best F1 among those whose tags were "
            f"right at least {TAG_MIN_PRECISION:.0%} of the time (precision) on the IMDb validation films while "
            f"finding at least {TAG_MIN_RECALL:.0%} of the genre's films (recall); a genre with no such threshold "
            f"is served as a probability only and never tagged")


def tag_threshold(truth: np.ndarray, probabilities: np.ndarray) -> float | None:
    """One genre's threshold by the tag rule (`truth` boolean, `probabilities` of the same posters), or None when
    no threshold on the grid reaches the precision floor with the minimum recall."""
    best, chosen = -1.0, None
    positives = max(int(truth.sum()), 1)
    for threshold in THRESHOLD_GRID:
        tags = probabilities >= threshold
        hits = int((tags & truth).sum())
        precision, recall = hits / max(int(tags.sum()), 1), hits / positives
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        if precision >= TAG_MIN_PRECISION and recall >= TAG_MIN_RECALL and f1 > best:
            best, chosen = f1, float(threshold)
    return chosen


def prior_shift(training_rates: np.ndarray, stated_rates: np.ndarray) -> np.ndarray:
    """What a model's logits gain to assume the stated genre rates instead of its training films' (logit
    adjustment): logit(stated) - logit(training), per genre. It moves no genre's ranking of posters (AP), only
    which genre comes first."""
    return logit(stated_rates) - logit(training_rates)


def fused(weights: np.ndarray, poster_probabilities: np.ndarray, *logits: np.ndarray) -> np.ndarray:
    """The fusion: per genre, sigmoid(w_poster * logit(poster) + the sum of w_k * logits_k + bias); `weights` is
    (genres, 2 + len(logits)) in that order. Float64, the shape of the probabilities."""
    total = weights[:, 0] * logit(poster_probabilities) + weights[:, -1]
    for k, values in enumerate(logits, start=1):
        total = total + weights[:, k] * values
    return sigmoid(total)


def serving_rule(min_films: int, min_lift: float) -> str:
    """The serving rule in words, as the report and the card say it."""
    return (f"the five genres always; another genre when at least {min_films} training films carry it and its IMDb "
            f"validation AP is at least {min_lift:g} times its base rate")


def served(genre: str, training_films: int, lift: float, min_films: int, min_lift: float) -> bool:
    """The serving rule: the five genres always; another when it has `min_films` training films and an IMDb
    validation AP at least `min_lift` times its base rate."""
    return genre in FIRST_GENRES or (training_films >= min_films and lift >= min_lift)


MIN_CONFIDENCE = 0.5  # an answer whose top probability is below this needs review (the CLI's --min-confidence)
REVIEW_TAIL = 0.002  # each image measurement flags what fewer than this share of the validation posters reach
REVIEW_RULE = (f"an image is flagged as unlike a film poster when one of its measurements (the share of its most "
               f"common colour, how many colours cover 95% of it, its pixel-to-pixel detail, its share of sharp "
               f"edges) lies beyond what all but {REVIEW_TAIL:.1%} of the validation posters reach")


def review_limits(measured: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The review rule's limits from validation posters' measurements (`poster_genre.review.measurements`)."""
    values = {key: np.array([m[key] for m in measured]) for key in measured[0]}
    return {"flat_share_above": float(np.quantile(values["flat_share"], 1 - REVIEW_TAIL)),
            "colours_below": float(np.quantile(values["colours"], REVIEW_TAIL)),
            "detail_below": float(np.quantile(values["detail"], REVIEW_TAIL)),
            "detail_above": float(np.quantile(values["detail"], 1 - REVIEW_TAIL)),
            "edges_below": float(np.quantile(values["edges"], REVIEW_TAIL))}


def review_reasons(top_probability: float, min_confidence: float, measured: Mapping[str, float],
                   limits: Mapping[str, float] | None, words_found: bool = False) -> list[str]:
    """Why one answer needs a person's review (empty: it does not): its top probability is below
    `min_confidence`, or (with the card's `limits`) the image is unlike a film poster, said once with each way it
    is unlike one (`words_found`: words were read on it, so it is not said to have no title or credits)."""
    reasons = []
    if top_probability < min_confidence:
        reasons.append(f"unsure: the top probability {top_probability:.2f} is below {min_confidence:g}")
    if not limits or not measured:
        return reasons
    unlike = []
    if measured["flat_share"] > limits["flat_share_above"]:
        unlike.append(f"{measured['flat_share']:.0%} of it is one colour (a blank or a placeholder?)")
    elif measured["colours"] < limits["colours_below"]:
        unlike.append("a handful of colours (a screenshot of text, a placeholder or a pattern?)")
    if measured["detail"] > limits["detail_above"]:
        unlike.append("noise-like detail")
    elif measured["detail"] < limits["detail_below"] or measured["edges"] < limits["edges_below"]:
        unlike.append("no sharp edges (a blank, a gradient or a blurred photo?)" if words_found else
                      "no sharp edges, no title or credits (a blank, a gradient or a blurred photo?)")
    if unlike:
        reasons.append(f"not like a film poster: {' and '.join(unlike)}")
    return reasons
