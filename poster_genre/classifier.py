"""The Python API: `GenreClassifier.classify` tags posters through the package's one analysis path."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np
from PIL import Image

from poster_genre.analysis import Analysis, Refusal, analyse_in_batches, answer
from poster_genre.answer import Prediction, Tagging
from poster_genre.model import (
    MAPS_OUTPUT,
    GenreModel,
    ModelNotFoundError,
    default_model,
)
from poster_genre.preprocess import ImageSource, describe
from poster_genre.rules import MIN_CONFIDENCE

__all__ = ["MAPS_OUTPUT", "GenreClassifier", "ModelNotFoundError", "Prediction", "Tagging", "default_model"]


class GenreClassifier(GenreModel):
    """The model (labels, input size and thresholds from its card) and `classify`, the Python API."""

    def classify(self, images: ImageSource | Iterable[ImageSource], top_k: int | str | None = None,
                 titles: str | Sequence[str | None] | None = None,
                 years: int | str | Sequence[int | str | None] | None = None,
                 errors: str = "raise", read_words: bool | None = None, min_confidence: float = MIN_CONFIDENCE
                 ) -> list[Tagging | Refusal]:
        """Tag posters through the package's one analysis path: one `Tagging` per poster, in order, the answer the
        CLI records (`to_dict()` is its JSONL record without `file`): ranked genres (top_k: 1 to the model's
        genres, or "all"/None for every genre), the tag set, `needs_review` (the top confidence below
        `min_confidence`, or an image unlike a poster) and `review_reason`, `inputs`, and `words` or `words_note`.

        `images` is one poster or an iterable of them: paths (str or pathlib.Path), bytes, binary file objects,
        PIL images or numpy arrays (H, W, 3) uint8; a 4-D array (N, H, W, 3) is N posters. `titles` and
        `years` add the film's title and year: one per poster (None for none), or a single value for a
        single poster. `read_words` reads the words printed on each poster (OCR: its cost is in docs/benchmarks.md) and uses
        them; by default it is on when the model has a words model and the OCR engine is installed. False (with no
        title or year) gives exactly the poster model's answers.

        errors="raise" (default): an unusable poster raises InvalidImageError (TextInputError for its title or
        year) naming its index and file; errors="record": it comes back as a Refusal in its place, and the
        others are tagged.
        """
        if errors not in ("raise", "record"):
            raise ValueError(f"errors must be 'raise' or 'record', not {errors!r}.")
        top_k = self.top_k_count(top_k)
        single = _is_one_poster(images)
        batch = [images] if single else list(images)
        texts = _texts(len(batch), single, titles, years)
        results = analyse_in_batches(self, batch, BATCH, texts, self.words_wanted(read_words))
        return [self._answer(result, index, source, top_k, min_confidence, errors)
                for index, (source, result) in enumerate(zip(batch, results))]

    def _answer(self, result: Analysis | Refusal, index: int, source: ImageSource, top_k: int, min_confidence: float,
                errors: str) -> Tagging | Refusal:
        if isinstance(result, Analysis):
            return answer(self, result, top_k, min_confidence)
        named = Refusal(f"Poster {index} ({describe(source)}): {result.reason}", result.error)
        if errors == "raise":
            raise named.error(named.reason)
        return named


BATCH = 32  # posters per model run in `classify`


def _is_one_poster(images: object) -> bool:
    """Whether `images` is a single poster rather than an iterable of them."""
    if isinstance(images, np.ndarray):
        return images.ndim != 4
    return isinstance(images, (str, os.PathLike, bytes, bytearray, memoryview, Image.Image)) or \
        callable(getattr(images, "read", None)) or not isinstance(images, Iterable)


def _texts(count: int, single: bool, titles: object, years: object) -> list[tuple[object, object]] | None:
    """One (title, year) per poster, or None without either; a length or shape that does not fit is a ValueError."""
    if titles is None and years is None:
        return None
    columns = []
    for name, given in (("titles", titles), ("years", years)):
        one_value = isinstance(given, (str, bytes, int)) or not isinstance(given, Sequence)
        if given is None:
            columns.append([None] * count)
        elif single and one_value:
            columns.append([given])
        elif one_value:
            raise ValueError(f"{name} must be a list with one entry per poster (None for none), not "
                             f"{given!r}; for one poster, pass the poster on its own, not in a list.")
        elif len(given) != count:
            raise ValueError(f"{count} posters but {len(given)} {name}; give one per poster (None for none).")
        else:
            columns.append(list(given))
    return list(zip(*columns))
