"""The film's title and year, and the words printed on the poster, beside the poster: hashed n-grams, linear
models, a learned fusion.

A title becomes character 3-5-grams (within the padded, case-folded title) and word 1-2-grams; a
year becomes its year, decade and quarter-century; the words read on a poster (`poster_genre.words`)
become each whole line (a star's full name is one token), word 1-2-grams within a line and character
3-5-grams. Each token is hashed with CRC-32 (stable across runs and machines, unlike Python's `hash`)
into `buckets` rows of a weight matrix; the title's, the year's and the words' tokens are each
L2-normalised. The text model (`model.text.onnx` beside the poster model, run by onnxruntime) sums
the rows of the title and year tokens into one logit per genre and, when it has a words model, the
rows of the words tokens into another. The fusion is a logistic layer per genre and per mode (which
of title, year and words are present) over the poster model's logit and those logits, fitted on
out-of-fold predictions of training films; each mode has its own thresholds. With no title, year or
words, the answer is the poster model's, unchanged. numpy and onnxruntime only.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import onnxruntime as ort

from poster_genre.card import TextCard
from poster_genre.rules import fused

TITLE_LIMIT = 300  # characters; a longer title is refused, not cut
YEARS = (1880, 2100)
CHAR_NGRAMS = (3, 4, 5)
WORD_NGRAMS = (1, 2)
TEXT_MODES = ("title", "year", "title+year")  # the modes a text model without a words model serves
MODES = TEXT_MODES + ("words", "title+words", "year+words", "title+year+words")
WORDS_LIMIT = 40  # words (lines) per poster, most confident first: a few names and a title, not a page
WORD_LENGTH = 40  # characters per word (line) kept
TEXT_NAME = "model.text.onnx"  # beside the poster model (in a clone, the Space and the wheel)


class TextInputError(ValueError):
    """A title or year that cannot be used; the message says what is accepted."""


@dataclass(frozen=True)
class TextInput:
    """A film's optional title and year, checked, and the words read on its poster (capped)."""

    title: str | None = None
    year: int | None = None
    words: tuple[str, ...] = ()

    @classmethod
    def of(cls, title: object = None, year: object = None) -> TextInput:
        """From raw values (a form, an API call, a catalogue row): empty means absent; TextInputError otherwise."""
        return cls(clean_title(title), clean_year(year))

    def with_words(self, words: Sequence[str]) -> TextInput:
        """This input with the words read on the poster (blank ones dropped, at most WORDS_LIMIT of at most
        WORD_LENGTH characters each)."""
        kept = [" ".join(str(w).split())[:WORD_LENGTH] for w in words]
        return replace(self, words=tuple(w for w in kept if w)[:WORDS_LIMIT])

    @property
    def mode(self) -> str | None:
        """Which fusion serves this input: one of MODES, or None (the poster alone)."""
        parts = [name for name, present in (("title", self.title is not None), ("year", self.year is not None),
                                            ("words", bool(self.words))) if present]
        return "+".join(parts) or None

    @property
    def inputs(self) -> list[str]:
        """What the answer rests on: "poster", then "title", "year" and "words" when used."""
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
    tokens = [f"w:{w}" for w in words] + [f"b:{a} {b}" for a, b in pairwise(words)]
    padded = f" {text} "
    return tokens + [f"c:{padded[i:i + n]}" for n in CHAR_NGRAMS for i in range(len(padded) - n + 1)]


def words_tokens(words: Sequence[str]) -> list[str]:
    """Each NFKC-normalised, case-folded line whole (a star's name), its word 1-2-grams and its character
    3-5-grams."""
    tokens = []
    for line in words:
        text = " ".join(unicodedata.normalize("NFKC", line).casefold().split())
        if not text:
            continue
        found = re.findall(r"\w+", text)
        tokens += [f"l:{text}", *(f"w:{w}" for w in found), *(f"b:{a} {b}" for a, b in pairwise(found))]
        padded = f" {text} "
        tokens += [f"c:{padded[i:i + n]}" for n in CHAR_NGRAMS for i in range(len(padded) - n + 1)]
    return tokens


def year_tokens(year: int) -> list[str]:
    return [f"y:{year}", f"d:{year // 10 * 10}", f"q:{year // 25 * 25}"]


def _hashed(tokens: list[str], buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucket indices (CRC-32 of each token) and their L2-normalised counts."""
    if not tokens:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    indices, counts = np.unique([zlib.crc32(t.encode("utf-8")) % buckets for t in tokens], return_counts=True)
    return indices.astype(np.int64), (counts / np.sqrt((counts ** 2).sum())).astype(np.float32)


def words_features(words: Sequence[str], buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """The sparse features of the words read on a poster: (indices, values); empty for no words."""
    return _hashed(words_tokens(words), buckets)


def features(text: TextInput, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """The sparse text features of a title and year: (indices, values); empty without either."""
    parts = [_hashed(title_tokens(text.title), buckets)] if text.title else []
    if text.year is not None:
        parts.append(_hashed(year_tokens(text.year), buckets))
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


class TextModelError(OSError):
    """A text model file that cannot be read, or that does not fit its poster model; the message says which."""


def first_line(error: Exception, limit: int = 200) -> str:
    """An error's message on one line, at most `limit` characters (onnxruntime's run over several)."""
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class TextModel:
    """The text model (the title and year's logits and, when it has one, the words' branch) and its fusion with one
    poster model (whose genres it must have, in order)."""

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
            raise TextModelError(f"Cannot load the text model at {where}: {first_line(error)}") from error
        self.reads_words = "word_indices" in {i.name for i in self.session.get_inputs()}
        self.fusion = {mode: with_words_column(np.asarray(weights, np.float64))
                       for mode, weights in self.card.fusion.items()}

    @property
    def labels(self) -> tuple[str, ...]:
        return self.card.labels

    @property
    def buckets(self) -> int:
        return self.card.buckets

    def usable(self, text: TextInput) -> TextInput:
        """The part of `text` this model can use: without the words when it has no words model."""
        return text if self.reads_words or not text.words else replace(text, words=())

    def logits(self, text: TextInput) -> tuple[np.ndarray, np.ndarray]:
        """One logit per genre from the title and year, and one from the words (zeros without a words model)."""
        indices, values = features(text, self.buckets)
        feeds = {"indices": indices, "values": values}
        if self.reads_words:
            feeds["word_indices"], feeds["word_values"] = words_features(text.words, self.buckets)
        outputs = self.session.run(None, feeds)
        words = outputs[1] if self.reads_words else np.zeros_like(outputs[0])
        return outputs[0].astype(np.float64), words.astype(np.float64)

    def fuse(self, poster_probabilities: np.ndarray, text: TextInput) -> np.ndarray:
        """The poster model's probabilities combined with the title, year and words it can use (unchanged
        without any)."""
        text = self.usable(text)
        if text.mode is None:
            return poster_probabilities
        return fused(self.fusion[text.mode], poster_probabilities, *self.logits(text)).astype(np.float32)

    def thresholds(self, mode: str) -> dict[str, float | None]:
        return self.card.thresholds[mode]

    def tag_status(self, mode: str) -> dict[str, dict]:
        return self.card.tag_status.get(mode, {})


def with_words_column(weights: np.ndarray) -> np.ndarray:
    """Fusion weights as (genres, 4): poster, title and year, words, bias (a card from before the words model
    has no words column)."""
    return np.insert(weights, 2, 0.0, axis=1) if weights.shape[1] == 3 else weights


def text_model_beside(model_path: Path) -> Path:
    """Where the text model of a poster model lives: `model.text.onnx` in the same folder."""
    return Path(model_path).with_name(TEXT_NAME)
