"""The one answer shape: `Tagging`, what every surface returns or writes for one poster.

`GenreClassifier.classify` returns it; the CLI's JSONL, CSV and Parquet records, Ray's, the page's many-poster
records and `/tags` are its `to_dict()` (the records beside `file` and the catalogue's columns); the page's tag line
and `/predict` read it. `top_k_count` is the one reading of how many genres to list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Prediction:
    """One genre's confidence and, in an answer, its tag threshold (None: served as a probability only)."""

    label: str
    confidence: float
    threshold: float | None = None


@dataclass(frozen=True)
class Tagging:
    """One poster's answer: genres ranked by confidence, the tag set (genres at or above their thresholds), whether
    a person should check it and why, what it rests on, and the words read on the poster or why they were not."""

    ranked: tuple[Prediction, ...]
    genres: tuple[str, ...]
    review_reasons: tuple[str, ...] = ()  # why a person should check it: a low top confidence, an image unlike a poster
    inputs: tuple[str, ...] = ("poster",)  # "poster", then "title" and "year" when given, "words" when used
    words: tuple[str, ...] | None = None  # what the words read on the poster say, None when they were not read
    words_note: str | None = None  # why the words asked for could not be used

    @property
    def top(self) -> Prediction:
        return self.ranked[0]

    @property
    def needs_review(self) -> bool:
        return bool(self.review_reasons)

    @property
    def review_reason(self) -> str | None:
        """The reasons to check it, in one line (None when there are none)."""
        return "; ".join(self.review_reasons) or None

    def to_dict(self) -> dict:
        """The record's answer fields, as the CLI's JSONL writes them: `review_reason`, `words` and `words_note`
        only where they have a value."""
        return {"labels": [{"label": p.label, "confidence": round(p.confidence, 4), "threshold": p.threshold}
                           for p in self.ranked],
                "genres": list(self.genres), "needs_review": self.needs_review,
                **({"review_reason": self.review_reason} if self.review_reason else {}),
                "inputs": list(self.inputs),
                **({"words": list(self.words)} if self.words is not None else {}),
                **({"words_note": self.words_note} if self.words_note else {})}


def top_k_count(top_k: object, genres: int) -> int:
    """`top_k` as a number of genres: a whole number from 1 to `genres` (2.0 and "2" are 2); None or "all" for every
    genre. Raises ValueError saying what to give otherwise (0, negatives, fractions, other words, booleans)."""
    if top_k is None or (isinstance(top_k, str) and top_k.strip().lower() == "all"):
        return genres
    if isinstance(top_k, str) and top_k.strip().isdigit():
        top_k = int(top_k)
    whole = isinstance(top_k, (int, np.integer)) or (isinstance(top_k, (float, np.floating)) and float(top_k).is_integer())
    if isinstance(top_k, bool) or not whole or not 1 <= top_k <= genres:
        raise ValueError(f"top_k must be a whole number from 1 to {genres} (this model's genres), or 'all' (or None) "
                         f"for every genre; not {top_k!r}.")
    return int(top_k)
