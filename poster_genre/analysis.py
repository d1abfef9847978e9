"""The one path from posters to answers: decode, fit to the model's input, one model run per batch and,
beside it when asked, the words printed on each poster, read from the same decoded image; then the film's
title and year when given.

The page, every API endpoint, the CLI and the Ray pipeline call `analyse_batch`; each item comes
back either as an `Analysis` (probabilities, and the activation maps when the model has them) or as
a `Refusal` saying why that poster (or its title or year) could not be used. A refused poster never
stops the others, and a poster whose words cannot be read is answered without them, saying so.
Without a title, a year or words, the answer is the poster model's, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from poster_genre.answer import Tagging
from poster_genre.model import GenreModel
from poster_genre.preprocess import (
    ImageSource,
    InvalidImageError,
    fit_to_input,
    give_back_memory,
    load_for_model,
)
from poster_genre.review import measurements
from poster_genre.rules import MIN_CONFIDENCE
from poster_genre.text import NO_TEXT, TextInput, TextInputError

if TYPE_CHECKING:
    from poster_genre.words import PendingWords

MAX_SIDE = 640  # a kept poster is at most this many pixels on its longer side
LARGE_IMAGE = 4_000_000  # px: after a batch with an image this large, the memory freed is given back to the system


@dataclass(frozen=True)
class Analysis:
    """One poster after one model run: what is needed to rank, tag and draw heat without the model."""

    image: Image.Image  # the decoded poster, at most MAX_SIDE px on its longer side
    poster_probabilities: np.ndarray  # (genres,): the poster model's
    maps: np.ndarray | None  # (h, w, genres), None for a model without activation maps: the poster's evidence
    text: TextInput = NO_TEXT  # the title, year and words the answer also rests on
    probabilities: np.ndarray | None = None  # (genres,): the answer, the poster's fused with the text when given
    measured: dict = field(default_factory=dict)  # what the review rule reads (`poster_genre.review.measurements`)
    words: tuple | None = None  # the words read (`poster_genre.words.Word`, boxes on `image`), None when not read
    words_note: str | None = None  # why the words could not be read, when they could not

    @property
    def read_texts(self) -> tuple[str, ...]:
        """What the words read on the poster say, most confident first (none when not read)."""
        return tuple(word.text for word in self.words or ())

    def __post_init__(self) -> None:
        if self.probabilities is None:
            object.__setattr__(self, "probabilities", self.poster_probabilities)


@dataclass(frozen=True)
class Refusal:
    """A poster that could not be classified, and why (the decoder's message, or the title's or year's)."""

    reason: str
    error: type[ValueError] = InvalidImageError  # what the Python API raises for it

    def to_dict(self) -> dict:
        """The record's field for a poster that could not be tagged."""
        return {"error": self.reason}


def answer(classifier: GenreModel, analysis: Analysis, top_k: int | None = None,
           min_confidence: float = MIN_CONFIDENCE) -> Tagging:
    """The one answer of an analysis (`poster_genre.answer.Tagging`): the top_k genres (default all) with their
    thresholds, the tag set, the review rule's verdict at `min_confidence`, what it rests on and the words."""
    probabilities, mode = analysis.probabilities, analysis.text.mode
    thresholds = classifier.thresholds(mode)
    ranked = tuple(replace(p, threshold=thresholds[p.label]) for p in classifier.rank(probabilities, top_k))
    reasons = classifier.needs_review(float(np.max(probabilities)), min_confidence, analysis.measured,
                                      bool(analysis.words))
    return Tagging(ranked, tuple(classifier.tags(probabilities, mode)), tuple(reasons), tuple(analysis.text.inputs),
                   None if analysis.words is None else analysis.read_texts, analysis.words_note)


def analyse_batch(classifier: GenreModel, sources: Sequence[ImageSource | Refusal],
                  texts: Sequence[tuple[object, object] | TextInput] | None = None,
                  read_words: bool = False) -> list[Analysis | Refusal]:
    """Decode every source; run the model once over the readable ones; with `read_words`, read the words on each
    (`poster_genre.words`); fuse each answer with its (title, year) and words when given; answer in the order
    given.

    A source that is already a Refusal (a file that could not even be read) is passed through; an
    unusable title or year refuses its item."""
    checked = [_text(item) for item in texts] if texts is not None else [NO_TEXT] * len(sources)
    decoded = [text if isinstance(text, Refusal) else _decode(classifier, source)
               for source, text in zip(sources, checked)]
    images = [item for item in decoded if isinstance(item, Image.Image)]
    if not images:
        return list(decoded)
    # The words are read beside the model run, which answers sooner than reading after it (docs/benchmarks.md).
    # One poster is read on all the model's threads; many, each on one thread, by the readers side by side.
    threads = classifier.threads if len(images) == 1 else 1
    reading = [start_reading(image, threads) for image in images] if read_words else []
    batch = model_input(classifier, images)
    if classifier.has_maps:
        probabilities, maps = classifier.probabilities_and_maps(batch)
    else:
        probabilities, maps = classifier.probabilities(batch), [None] * len(images)
    read = [words_or_note(item) for item in reading] if read_words else [(None, None)] * len(images)
    answers = iter(zip(images, probabilities, maps, measurements(batch), read))
    results = [_answer(classifier, _analysis(*next(answers)), text) if isinstance(item, Image.Image) else item
               for item, text in zip(decoded, checked)]
    large = any(image.width * image.height > LARGE_IMAGE for image in images)
    del decoded, images, answers, batch, reading  # the decoded images go here (each answer keeps a small copy)
    if large:
        give_back_memory()
    return results


def with_text(classifier: GenreModel, analysis: Analysis, text: TextInput, use_words: bool = True) -> Analysis:
    """The same poster's answer with another title and year (and with or without the words read on it, or else the
    words `text` carries): no model run, only the text model and fusion. The answer's `text` is what the model
    could use."""
    words = (analysis.read_texts if analysis.words is not None else text.words) if use_words else ()
    text = classifier.usable(text.with_words(words))
    return replace(analysis, text=text, probabilities=classifier.fuse(analysis.poster_probabilities, text))


def start_reading(image: Image.Image, threads: int) -> PendingWords | Exception:
    """Start reading the words on a decoded poster in the background (on `threads` onnxruntime threads), or the
    error that kept it from starting."""
    # the OCR engine loads only when words are read
    from poster_genre.words import read_words_later

    try:
        return read_words_later(image, threads)
    except Exception as error:  # noqa: BLE001 (the engine missing or failing to load: the answers go on without words)
        return error


def words_or_note(reading: PendingWords | Exception) -> tuple[tuple | None, str | None]:
    """The words of a `start_reading`, or None and why they could not be read (the engine missing, failing or too
    slow on this image): the answer then goes on without them."""
    from poster_genre.words import words_read

    try:
        if isinstance(reading, Exception):
            raise reading
        return tuple(words_read(reading)), None
    except Exception as error:  # noqa: BLE001 (whatever the engine raises on one image must not fail the answer)
        return None, f"The words on this poster could not be read ({error}); the answer is without them."


def analyse(classifier: GenreModel, source: ImageSource, text: TextInput = NO_TEXT, read_words: bool = False
            ) -> Analysis:
    """One poster's analysis (with the words on it read when `read_words`), or InvalidImageError
    (TextInputError) naming the problem."""
    return analyse_or_raise(classifier, [source], texts=[text], read_words=read_words)[0]


def analyse_in_batches(classifier: GenreModel, sources: Sequence[ImageSource], batch_size: int = 32,
                       texts: Sequence[tuple[object, object] | TextInput] | None = None, read_words: bool = False
                       ) -> Iterator[Analysis | Refusal]:
    """`analyse_batch` over `batch_size` posters a model run, each item in the order given."""
    for start in range(0, len(sources), batch_size):
        chunk = None if texts is None else texts[start:start + batch_size]
        yield from analyse_batch(classifier, sources[start:start + batch_size], chunk, read_words)


def analyse_or_raise(classifier: GenreModel, sources: Sequence[ImageSource], batch_size: int = 32,
                     texts: Sequence[tuple[object, object] | TextInput] | None = None, read_words: bool = False
                     ) -> list[Analysis]:
    """Every poster's analysis, `batch_size` a model run; InvalidImageError (or TextInputError) naming the
    first unusable one."""
    answers = []
    for result in analyse_in_batches(classifier, sources, batch_size, texts, read_words):
        if isinstance(result, Refusal):
            raise result.error(result.reason)
        answers.append(result)
    return answers


def file_probabilities(classifier: GenreModel, sources: Sequence[ImageSource], batch_size: int = 32) -> np.ndarray:
    """(posters, genres): the probabilities of many poster files (or other sources), as `analyse_or_raise` computes
    them."""
    answers = analyse_or_raise(classifier, sources, batch_size)
    if not answers:
        return np.zeros((0, len(classifier.labels)), np.float32)
    return np.stack([a.probabilities for a in answers])


def model_input(classifier: GenreModel, sources: Sequence[ImageSource]) -> np.ndarray:
    """The float32 batch (N, H, W, 3) the model runs on: each poster decoded and fitted to its input size."""
    return np.stack([fit_to_input(load_for_model(s, classifier.input_size), classifier.input_size) for s in sources])


def display_copy(image: Image.Image) -> Image.Image:
    """A copy of `image`, scaled down to at most MAX_SIDE px on its longer side (never up)."""
    scale = min(1.0, MAX_SIDE / max(image.size))
    if scale == 1.0:
        return image.copy()
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                        Image.Resampling.BILINEAR)


def _answer(classifier: GenreModel, analysis: Analysis, text: TextInput) -> Analysis | Refusal:
    try:
        return with_text(classifier, analysis, text)
    except TextInputError as error:  # a model without a text model
        return Refusal(str(error), TextInputError)


def _text(item: tuple[object, object] | TextInput) -> TextInput | Refusal:
    try:
        return item if isinstance(item, TextInput) else TextInput.of(*item)
    except TextInputError as error:
        return Refusal(str(error), TextInputError)


def _decode(classifier: GenreModel, source: ImageSource | Refusal) -> Image.Image | Refusal:
    if isinstance(source, Refusal):
        return source
    try:
        return load_for_model(source, classifier.input_size)
    except InvalidImageError as error:
        return Refusal(str(error), type(error))


def _analysis(image: Image.Image, probabilities: np.ndarray, maps: np.ndarray | None, measured: dict,
              read: tuple[tuple | None, str | None]) -> Analysis:
    shown = display_copy(image)
    words = None if read[0] is None else tuple(word.scaled(shown.width / image.width) for word in read[0])
    return Analysis(shown, probabilities, maps, measured=measured, words=words, words_note=read[1])
