"""The one path from posters to answers: decode, fit to the model's input, one model run per batch,
then the film's title and year when given.

The page, every API endpoint, the CLI and the Ray pipeline call `analyse_batch`; each item comes
back either as an `Analysis` (probabilities, and the activation maps when the model has them) or as
a `Refusal` saying why that poster (or its title or year) could not be used. A refused poster never
stops the others. Without a title or year, the answer is the poster model's, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator, Sequence

import numpy as np
from PIL import Image

from poster_genre.model import GenreModel
from poster_genre.preprocess import ImageSource, InvalidImageError, fit_to_input, load_for_model
from poster_genre.review import measurements
from poster_genre.text import NO_TEXT, TextInput, TextInputError

MAX_SIDE = 640  # a kept poster is at most this many pixels on its longer side


@dataclass(frozen=True)
class Analysis:
    """One poster after one model run: what is needed to rank, tag and draw heat without the model."""

    image: Image.Image  # the decoded poster, at most MAX_SIDE px on its longer side
    poster_probabilities: np.ndarray  # (genres,): the poster model's
    maps: np.ndarray | None  # (h, w, genres), None for a model without activation maps: the poster's evidence
    text: TextInput = NO_TEXT  # the title and year the answer also rests on
    probabilities: np.ndarray | None = None  # (genres,): the answer, the poster's fused with the text when given
    measured: dict = field(default_factory=dict)  # what the review rule reads (`poster_genre.review.measurements`)

    def __post_init__(self) -> None:
        if self.probabilities is None:
            object.__setattr__(self, "probabilities", self.poster_probabilities)


@dataclass(frozen=True)
class Refusal:
    """A poster that could not be classified, and why (the decoder's message, or the title's or year's)."""

    reason: str
    error: type[ValueError] = InvalidImageError  # what the Python API raises for it


def analyse_batch(classifier: GenreModel, sources: Sequence[ImageSource | Refusal],
                  texts: Sequence[tuple[object, object] | TextInput] | None = None) -> list[Analysis | Refusal]:
    """Decode every source; run the model once over the readable ones; fuse each answer with its
    (title, year) when given; answer in the order given.

    A source that is already a Refusal (a file that could not even be read) is passed through; an
    unusable title or year refuses its item."""
    checked = [_text(item) for item in texts] if texts is not None else [NO_TEXT] * len(sources)
    decoded = [text if isinstance(text, Refusal) else _decode(classifier, source)
               for source, text in zip(sources, checked)]
    images = [item for item in decoded if isinstance(item, Image.Image)]
    if not images:
        return list(decoded)
    batch = model_input(classifier, images)
    if classifier.has_maps:
        probabilities, maps = classifier.probabilities_and_maps(batch)
    else:
        probabilities, maps = classifier.probabilities(batch), [None] * len(images)
    answers = iter(zip(images, probabilities, maps, measurements(batch)))
    return [_answer(classifier, _analysis(*next(answers)), text) if isinstance(item, Image.Image) else item
            for item, text in zip(decoded, checked)]


def with_text(classifier: GenreModel, analysis: Analysis, text: TextInput) -> Analysis:
    """The same poster's answer with another title and year: no model run, only the text model and fusion."""
    return replace(analysis, text=text, probabilities=classifier.fuse(analysis.poster_probabilities, text))


def analyse(classifier: GenreModel, source: ImageSource, text: TextInput = NO_TEXT) -> Analysis:
    """One poster's analysis, or InvalidImageError (TextInputError) naming the problem."""
    return analyse_or_raise(classifier, [source], texts=[text])[0]


def analyse_in_batches(classifier: GenreModel, sources: Sequence[ImageSource], batch_size: int = 32,
                       texts: Sequence[tuple[object, object] | TextInput] | None = None
                       ) -> Iterator[Analysis | Refusal]:
    """`analyse_batch` over `batch_size` posters a model run, each item in the order given."""
    for start in range(0, len(sources), batch_size):
        chunk = None if texts is None else texts[start:start + batch_size]
        yield from analyse_batch(classifier, sources[start:start + batch_size], chunk)


def analyse_or_raise(classifier: GenreModel, sources: Sequence[ImageSource], batch_size: int = 32,
                     texts: Sequence[tuple[object, object] | TextInput] | None = None) -> list[Analysis]:
    """Every poster's analysis, `batch_size` a model run; InvalidImageError (or TextInputError) naming the
    first unusable one."""
    answers = []
    for result in analyse_in_batches(classifier, sources, batch_size, texts):
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


def _analysis(image: Image.Image, probabilities: np.ndarray, maps: np.ndarray | None, measured: dict) -> Analysis:
    return Analysis(display_copy(image), probabilities, maps, measured=measured)
