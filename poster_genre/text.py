"""The film's title and year beside the poster: hashed n-grams, a linear text model, a learned fusion.

A title becomes character 3-5-grams (within the padded, case-folded title) and word 1-2-grams; a
year becomes its year, decade and quarter-century. Each token is hashed with CRC-32 (stable across
runs and machines, unlike Python's `hash`) into `buckets` rows of the text model's weight matrix;
the title's and the year's tokens are each L2-normalised. The text model (`model.text.onnx` beside
the poster model, run by onnxruntime) sums the rows of the tokens present into one logit per genre.
The fusion is a logistic layer per genre and per mode (title, year, title and year) over the poster
model's logit and the text model's, fitted on out-of-fold predictions of training films; each mode
has its own thresholds. With neither title nor year, the answer is the poster model's, unchanged.
numpy and onnxruntime only.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from poster_genre.card import TextCard
from poster_genre.rules import fused

TITLE_LIMIT = 300  # characters; a longer title is refused, not cut
YEARS = (1880, 2100)
CHAR_NGRAMS = (3, 4, 5)
WORD_NGRAMS = (1, 2)
MODES = ("title", "year", "title+year")
TEXT_NAME = "model.text.onnx"  # beside the poster model (in a clone, the Space and the wheel)


class TextInputError(ValueError):
    """A title or year that cannot be used; the message says what is accepted."""


@dataclass(frozen=True)
class TextInput:
    """A film's optional title and year, checked."""

    title: str | None = None
    year: int | None = None

    @classmethod
    def of(cls, title: object = None, year: object = None) -> "TextInput":
        """From raw values (a form, an API call, a catalogue row): empty means absent; TextInputError otherwise."""
        return cls(clean_title(title), clean_year(year))

    @property
    def mode(self) -> str | None:
        """Which fusion serves this input: "title", "year", "title+year", or None (the poster alone)."""
        parts = [name for name, value in (("title", self.title), ("year", self.year)) if value is not None]
        return "+".join(parts) or None

    @property
    def inputs(self) -> list[str]:
        """What the answer rests on: "poster", then "title" and "year" when given."""
        return ["poster", *(self.mode or "").split("+")] if self.mode else ["poster"]


NO_TEXT = TextInput()


def clean_title(title: object) -> str | None:
    if title is None or (isinstance(title, float) and math.isnan(title)):
        return None
    if not isinstance(title, str):
        raise TextInputError(f"The title must be text, not {type(title).__name__}.")
    title = " ".join(title.split())
    if len(title) > TITLE_LIMIT:
        raise TextInputError(f"The title has {len(title)} characters; at most {TITLE_LIMIT} are accepted.")
    return title or None


def clean_year(year: object) -> int | None:
    if year is None or (isinstance(year, str) and not year.strip()) or (isinstance(year, float) and math.isnan(year)):
        return None
    text = year.strip() if isinstance(year, str) else year
    if isinstance(text, bool) or not (isinstance(text, (int, float)) or re.fullmatch(r"\d{1,4}(\.0+)?", str(text))):
        raise TextInputError(f"The year must be a whole number from {YEARS[0]} to {YEARS[1]}, not {year!r}.")
    value = float(text)
    if value != int(value) or not YEARS[0] <= value <= YEARS[1]:
        raise TextInputError(f"The year must be a whole number from {YEARS[0]} to {YEARS[1]}, not {year!r}.")
    return int(value)


def title_tokens(title: str) -> list[str]:
    """Word 1-2-grams and character 3-5-grams of the NFKC-normalised, case-folded title."""
    text = " ".join(unicodedata.normalize("NFKC", title).casefold().split())
    words = re.findall(r"\w+", text)
    tokens = [f"w:{w}" for w in words] + [f"b:{a} {b}" for a, b in zip(words, words[1:])]
    padded = f" {text} "
    return tokens + [f"c:{padded[i:i + n]}" for n in CHAR_NGRAMS for i in range(len(padded) - n + 1)]


def year_tokens(year: int) -> list[str]:
    return [f"y:{year}", f"d:{year // 10 * 10}", f"q:{year // 25 * 25}"]


def _hashed(tokens: list[str], buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucket indices (CRC-32 of each token) and their L2-normalised counts."""
    if not tokens:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    indices, counts = np.unique([zlib.crc32(t.encode("utf-8")) % buckets for t in tokens], return_counts=True)
    return indices.astype(np.int64), (counts / np.sqrt((counts ** 2).sum())).astype(np.float32)


def features(text: TextInput, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """The sparse text features of a title and year: (indices, values); empty for NO_TEXT."""
    parts = [_hashed(title_tokens(text.title), buckets)] if text.title else []
    if text.year is not None:
        parts.append(_hashed(year_tokens(text.year), buckets))
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


class TextModelError(OSError):
    """A text model file that cannot be read, or that does not fit its poster model; the message says which."""


class TextModel:
    """The text model and its fusion with one poster model (whose genres it must have, in order)."""

    def __init__(self, model: str | os.PathLike | bytes, threads: int = 1) -> None:
        """`threads`: onnxruntime's intra-op threads (the text model is small: one is plenty)."""
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        where = "<text model bytes>" if isinstance(model, bytes) else str(model)
        try:
            self.session = ort.InferenceSession(model if isinstance(model, bytes) else str(model), options,
                                                providers=["CPUExecutionProvider"])
            self.card = TextCard.from_metadata(self.session.get_modelmeta().custom_metadata_map)
        except Exception as error:  # onnxruntime's own exception types, or a card without its fields
            raise TextModelError(f"Cannot load the text model at {where}: {error}") from error
        self.fusion = {mode: np.asarray(weights, np.float64) for mode, weights in self.card.fusion.items()}

    @property
    def labels(self) -> tuple[str, ...]:
        return self.card.labels

    @property
    def buckets(self) -> int:
        return self.card.buckets

    def logits(self, text: TextInput) -> np.ndarray:
        """One logit per genre from the title and year alone."""
        indices, values = features(text, self.buckets)
        return self.session.run(None, {"indices": indices, "values": values})[0].astype(np.float64)

    def fuse(self, poster_probabilities: np.ndarray, text: TextInput) -> np.ndarray:
        """The poster model's probabilities combined with the title and year (unchanged without either)."""
        if text.mode is None:
            return poster_probabilities
        return fused(self.fusion[text.mode], poster_probabilities, self.logits(text)).astype(np.float32)

    def thresholds(self, mode: str) -> dict[str, float | None]:
        return self.card.thresholds[mode]

    def tag_status(self, mode: str) -> dict[str, dict]:
        return self.card.tag_status.get(mode, {})


def text_model_beside(model_path: Path) -> Path:
    """Where the text model of a poster model lives: `model.text.onnx` in the same folder."""
    return Path(model_path).with_name(TEXT_NAME)
