"""Where on the poster the model looked: class activation maps, rendered with numpy and Pillow.

The head is global average pooling plus one dense layer, so the model's second output, the
per-genre maps M (h, w, genres), ties exactly to the logits: mean over cells of M[..., g] plus
the bias of g is genre g's logit. Two forms of a genre's evidence are offered:
- "raw": M[..., g], high wherever the features are strong, even on a flat background;
- "contrast": M[..., g] minus the mean of the genres' maps, what speaks for g rather than for the
  others (for a softmax model exactly what moves g's probability relative to the rest).
`DISPLAYED_FORM` says which form the app shows for each model kind, as measured by
`benchmarks/localisation.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from poster_genre.card import MULTI_LABEL, SINGLE_LABEL
from poster_genre.classifier import GenreClassifier
from poster_genre.preprocess import ImageSource, fit_to_input, load_for_model

FORMS = ("raw", "contrast")
DISPLAYED_FORM = {SINGLE_LABEL: "contrast", MULTI_LABEL: "contrast"}
MAX_SIDE = 640  # overlays are at most this many pixels on their longer side
OPACITY = 0.55
# Inferno-like anchors, dark to light: luminance rises monotonically, so the scale reads in greyscale.
COLOUR_ANCHORS = np.array([(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66),
                           (245, 125, 21), (250, 193, 39), (252, 255, 164)], dtype=np.float32)


@dataclass(frozen=True)
class Explanation:
    genre: str
    probability: float
    overlay: Image.Image  # the poster with the genre's heat, at the poster's aspect ratio


def evidence(maps: np.ndarray, index: int, form: str = "contrast") -> np.ndarray:
    """One genre's (h, w) evidence map from the model's (h, w, genres) maps."""
    if form not in FORMS:
        raise ValueError(f"Unknown map form {form!r}; expected one of {', '.join(FORMS)}.")
    own = maps[..., index]
    return own if form == "raw" else own - maps.mean(axis=-1)


def colourise(values: np.ndarray) -> np.ndarray:
    """Values in 0..1 to uint8 RGB on the dark-to-light scale."""
    position = np.clip(values, 0, 1) * (len(COLOUR_ANCHORS) - 1)
    low = np.minimum(position.astype(int), len(COLOUR_ANCHORS) - 2)
    weight = (position - low)[..., None]
    return (COLOUR_ANCHORS[low] * (1 - weight) + COLOUR_ANCHORS[low + 1] * weight).astype(np.uint8)


def crop_box(size: tuple[int, int], input_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the centred region the model sees, as ImageOps.fit crops it."""
    width, height = size
    target = input_size[1] / input_size[0]
    crop_w, crop_h = (height * target, height) if width / height >= target else (width, width / target)
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    return left, top, left + crop_w, top + crop_h


def render(image: Image.Image, heat: np.ndarray, input_size: tuple[int, int]) -> Image.Image:
    """The poster (its own aspect ratio, at most MAX_SIDE px) with `heat` smoothly upsampled over
    the region the model saw; the heat is scaled to 0..1 over the map."""
    scale = min(1.0, MAX_SIDE / max(image.size))
    poster = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                          Image.Resampling.BILINEAR)
    left, top, right, bottom = (round(v * scale) for v in crop_box(image.size, input_size))
    span = float(heat.max() - heat.min())
    unit = (heat - heat.min()) / span if span > 0 else np.zeros_like(heat)
    smooth = Image.fromarray(unit.astype(np.float32), "F").resize(
        (max(1, right - left), max(1, bottom - top)), Image.Resampling.BICUBIC)
    colours = Image.fromarray(colourise(np.asarray(smooth)), "RGB")
    region = poster.crop((left, top, right, bottom))
    poster.paste(Image.blend(region, colours, OPACITY), (left, top))
    return poster


def overlay(classifier: GenreClassifier, image: Image.Image, maps: np.ndarray, index: int,
            form: str | None = None) -> Image.Image:
    """Genre `index`'s evidence from one poster's (h, w, genres) maps, rendered over the poster."""
    heat = evidence(maps, index, form or DISPLAYED_FORM[classifier.card.kind])
    return render(image, heat, classifier.input_size)


def explain(classifier: GenreClassifier, source: ImageSource, genre: str | None = None,
            form: str | None = None) -> Explanation:
    """Heat for `genre` (default: the most likely one) over the poster, from one model run."""
    if genre is not None and genre not in classifier.labels:
        raise ValueError(f"Unknown genre {genre!r}; choose one of {', '.join(classifier.labels)}.")
    image = load_for_model(source, classifier.input_size)
    probs, maps = classifier.probabilities_and_maps(fit_to_input(image, classifier.input_size)[None])
    index = int(probs[0].argmax()) if genre is None else classifier.labels.index(genre)
    shown = overlay(classifier, image, maps[0], index, form)
    return Explanation(classifier.labels[index], float(probs[0, index]), shown)
