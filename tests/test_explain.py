"""Class activation maps of the committed model: the identity with the logits, the overlay, localisation."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from PIL import Image, ImageOps

from benchmarks.localisation import localisation, sample_posters
from poster_genre.analysis import model_input
from poster_genre.explain import (
    DISPLAYED_FORM,
    colourise,
    crop_box,
    evidence,
    explain,
    render,
)
from tests.conftest import DATA_DIR, MODEL, needs_data, synthetic_poster


def head_bias() -> np.ndarray:
    """The dense head's bias, read from the graph (the Add after the head's MatMul)."""
    model = onnx.load(str(MODEL))
    matmul = next(n for n in model.graph.node if n.op_type == "MatMul" and not n.name.startswith("genre_maps"))
    add = next(n for n in model.graph.node if n.op_type == "Add" and matmul.output[0] in n.input)
    name = next(i for i in add.input if i != matmul.output[0])
    return numpy_helper.to_array(next(t for t in model.graph.initializer if t.name == name))


def test_maps_average_to_the_logits_of_the_committed_model(classifier, sample_poster, tmp_path):
    synthetic_poster(5, (400, 600)).save(tmp_path / "made.png")
    batch = model_input(classifier, [sample_poster, tmp_path / "made.png"])
    probs, maps = classifier.probabilities_and_maps(batch)
    logits = maps.mean(axis=(1, 2)) + head_bias()
    assert np.abs(np.log(probs / (1 - probs)) - logits).max() < 1e-3  # float32 logit of a sigmoid
    assert np.abs(1 / (1 + np.exp(-logits)) - probs).max() < 1e-5


def test_colour_scale_reads_in_greyscale():
    ramp = Image.fromarray(np.arange(256, dtype=np.uint8)[None], "L")
    colours = np.asarray(colourise(ramp), float)[0]
    luminance = colours @ np.array([0.299, 0.587, 0.114])
    assert np.all(np.diff(luminance) > 0)


def test_crop_box_is_the_region_the_model_sees():
    image = synthetic_poster(3, (600, 500))  # wider than 2:3: the sides are cropped
    left, top, right, bottom = crop_box(image.size, (390, 260))
    assert (top, bottom) == (0, 500) and right - left == pytest.approx(500 * 260 / 390)
    fitted = ImageOps.fit(image, (26, 39), method=Image.Resampling.BILINEAR)
    box = tuple(round(v) for v in (left, top, right, bottom))
    cropped = image.crop(box).resize((26, 39), Image.Resampling.BILINEAR)
    assert np.abs(np.asarray(fitted, float) - np.asarray(cropped, float)).mean() < 8


@pytest.mark.parametrize("size", [(500, 750), (900, 500), (2000, 3000)])
def test_overlay_keeps_the_poster_shape_and_is_smooth(size):
    image = synthetic_poster(2, size)
    heat = np.random.default_rng(0).normal(size=(13, 9))
    overlay = render(image, heat, (390, 260))
    assert overlay.width / overlay.height == pytest.approx(size[0] / size[1], abs=0.01)
    assert max(overlay.size) <= 640
    flat = Image.new("RGB", size, (128, 128, 128))
    row = np.asarray(render(flat, heat, (390, 260)))[overlay.height // 2]
    assert len({tuple(p) for p in row}) > 3 * heat.shape[1]  # interpolated, not one colour per cell


def test_explain_defaults_to_the_most_likely_genre_and_refuses_unknown_ones(classifier, sample_poster):
    shown = explain(classifier, sample_poster)
    [tagging] = classifier.classify(sample_poster, read_words=False)  # the heatmap is the poster's own evidence
    assert shown.genre == tagging.top.label and shown.probability == pytest.approx(tagging.top.confidence, abs=1e-5)
    other = explain(classifier, sample_poster, tagging.ranked[-1].label)
    assert np.abs(np.asarray(shown.overlay, float) - np.asarray(other.overlay, float)).mean() > 1
    with pytest.raises(ValueError, match="Unknown genre"):
        explain(classifier, sample_poster, "Cartoon")


def test_contrast_form_is_the_genre_map_minus_the_mean():
    maps = np.random.default_rng(1).normal(size=(4, 3, 5))
    assert np.allclose(evidence(maps, 2, "raw"), maps[..., 2])
    assert np.allclose(evidence(maps, 2, "contrast"), maps[..., 2] - maps.mean(axis=-1))


@needs_data
def test_the_displayed_map_points_at_the_poster_on_a_grey_canvas(classifier):
    posters = sample_posters(DATA_DIR, 30)
    hits = localisation(classifier, posters)
    shown = hits[DISPLAYED_FORM]
    print(f"hottest cell inside the pasted poster: {hits} of {len(posters)} (chance 16%)")
    assert shown >= 0.6 * len(posters)
