"""Where on the poster the model looked: class activation maps, rendered with numpy and Pillow.

The head is global average pooling plus one dense layer, so the model's second output, the
per-genre maps M (h, w, genres), ties exactly to the logits: mean over cells of M[..., g] plus
the bias of g is genre g's logit. Two forms of a genre's evidence are offered:
- "raw": M[..., g], high wherever the features are strong, even on a flat background;
- "contrast": M[..., g] minus the mean of the genres' maps, what speaks for g rather than for the
  others.
`DISPLAYED_FORM` is the form the app shows, as measured by `benchmarks/localisation.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from poster_genre.analysis import Analysis, analyse, display_copy
from poster_genre.model import GenreModel
from poster_genre.preprocess import ImageSource

FORMS = ("raw", "contrast")
DISPLAYED_FORM = "contrast"
OPACITY = 0.55
# Inferno-like anchors, dark to light: luminance rises monotonically, so the scale reads in greyscale.
COLOUR_ANCHORS = np.array([(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66),
                           (245, 125, 21), (250, 193, 39), (252, 255, 164)], dtype=np.float32)


@dataclass(frozen=True)
class Explanation:
    genre: str
    probability: float  # the poster's own probability of the genre: what the heat is evidence for
    overlay: Image.Image  # the poster with the genre's heat, at the poster's aspect ratio
    answer: float  # the answer's probability of the genre (the poster's fused with a title and year when given)


def evidence(maps: np.ndarray, index: int, form: str = "contrast") -> np.ndarray:
    """One genre's (h, w) evidence map from the model's (h, w, genres) maps."""
    if form not in FORMS:
        raise ValueError(f"Unknown map form {form!r}; expected one of {', '.join(FORMS)}.")
    own = maps[..., index]
    return own if form == "raw" else own - maps.mean(axis=-1)


def _interpolate_scale(values: np.ndarray) -> np.ndarray:
    """Values in 0..1 to uint8 RGB, linearly between the colour anchors."""
    position = np.clip(values, 0, 1) * (len(COLOUR_ANCHORS) - 1)
    low = np.minimum(position.astype(int), len(COLOUR_ANCHORS) - 2)
    weight = (position - low)[..., None]
    return (COLOUR_ANCHORS[low] * (1 - weight) + COLOUR_ANCHORS[low + 1] * weight).astype(np.uint8)


# The scale at 256 levels, one lookup list per channel: colouring is Image.point, not per-pixel maths.
COLOUR_BANDS = [band.tolist() for band in _interpolate_scale(np.linspace(0, 1, 256)).T]


def colourise(levels: Image.Image) -> Image.Image:
    """A greyscale ("L") image of levels 0..255 to RGB on the dark-to-light scale."""
    return Image.merge("RGB", [levels.point(band) for band in COLOUR_BANDS])


def crop_box(size: tuple[int, int], input_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the centred region the model sees, as ImageOps.fit crops it."""
    width, height = size
    target = input_size[1] / input_size[0]
    crop_w, crop_h = (height * target, height) if width / height >= target else (width, width / target)
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    return left, top, left + crop_w, top + crop_h


def render(image: Image.Image, heat: np.ndarray, input_size: tuple[int, int]) -> Image.Image:
    """The poster (its own aspect ratio, as `display_copy` keeps it) with `heat` smoothly upsampled over
    the region the model saw; the heat is scaled to 0..1 over the map."""
    poster = display_copy(image)
    scale = poster.width / image.width
    left, top, right, bottom = (round(v * scale) for v in crop_box(image.size, input_size))
    span = float(heat.max() - heat.min())
    unit = (heat - heat.min()) / span if span > 0 else np.zeros_like(heat)
    levels = Image.fromarray(np.round(unit * 255).astype(np.uint8), "L").resize(
        (max(1, right - left), max(1, bottom - top)), Image.Resampling.BICUBIC)  # smooth, clamped to 0..255
    colours = colourise(levels)
    region = poster.crop((left, top, right, bottom))
    poster.paste(Image.blend(region, colours, OPACITY), (left, top))
    return poster


def overlay(classifier: GenreModel, image: Image.Image, maps: np.ndarray, index: int,
            form: str | None = None) -> Image.Image:
    """Genre `index`'s evidence from one poster's (h, w, genres) maps, rendered over the poster."""
    heat = evidence(maps, index, form or DISPLAYED_FORM)
    return render(image, heat, classifier.input_size)


class UnknownGenreError(ValueError):
    """A genre the model does not know was asked for; the message lists the ones it does."""


def check_genre(classifier: GenreModel, genre: str | None) -> None:
    """Raise UnknownGenreError unless `genre` is None (the most likely genre) or one of the model's labels."""
    if genre is not None and genre not in classifier.labels:
        raise UnknownGenreError(f"Unknown genre {genre!r}; choose one of {', '.join(classifier.labels)}, "
                                "or leave it empty ('' or None) for the most likely one.")


def heat(classifier: GenreModel, analysis: Analysis, genre: str | None = None,
         form: str | None = None) -> Explanation:
    """Heat for `genre` (default: the most likely one) over an analysed poster; no model run."""
    check_genre(classifier, genre)
    if analysis.maps is None:
        raise ValueError(f"The model at {classifier.path} has no activation maps; re-export it.")
    index = int(analysis.probabilities.argmax()) if genre is None else classifier.labels.index(genre)
    shown = overlay(classifier, analysis.image, analysis.maps, index, form)
    return Explanation(classifier.labels[index], float(analysis.poster_probabilities[index]), shown,
                       float(analysis.probabilities[index]))


def explain(classifier: GenreModel, source: ImageSource, genre: str | None = None,
            form: str | None = None) -> Explanation:
    """Heat for `genre` (default: the most likely one) over the poster, from one model run."""
    check_genre(classifier, genre)  # refuse before decoding and running the model
    return heat(classifier, analyse(classifier, source), genre, form)
