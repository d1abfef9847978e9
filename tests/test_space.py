"""The Space's page as built from model.onnx: model card, report plots, examples or the hint."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
from PIL import Image

from app import build_demo, example_posters
from poster_genre import GenreClassifier
from poster_genre.analysis import file_probabilities
from poster_genre.card import IMDB_EVERY_GENRE
from poster_genre.card_markdown import card_markdown, model_version
from tests.conftest import (
    DATA_DIR,
    IMDB_DIR,
    MODEL,
    REPO,
    needs_both,
    synthetic_poster,
)
from train.examples import example_candidates, example_genres, fill_examples


def page_text(demo) -> str:
    return json.dumps(demo.get_config_file(), default=str)  # gr.State props hold a callback


def test_without_examples_the_app_builds_with_a_hint(tmp_path):
    demo = build_demo(GenreClassifier(MODEL), tmp_path / "empty", REPO / "reports")
    text = page_text(demo)
    assert "No example posters" in text and "Example posters" not in text


def test_examples_are_listed_from_the_folder(tmp_path):
    for name in ("b.png", "a.jpg"):
        synthetic_poster(1).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a poster")
    assert example_posters(tmp_path) == [[str(tmp_path / "a.jpg")], [str(tmp_path / "b.png")]]
    assert "Example posters" in page_text(build_demo(GenreClassifier(MODEL), tmp_path, REPO / "reports"))


def test_model_card_shows_the_metadata():
    card = GenreClassifier(MODEL).card
    text = card_markdown(card)
    assert card.backbone in text and f"{card.input_size[0]}×{card.input_size[1]}" in text and card.kind in text
    assert f"{card.metrics['tmdb_collected']['accuracy']:.3f}" in text
    assert str(card.data["train"]) in text and str(card.data["val"]) in text
    for genre in card.labels:
        assert f"| {genre} |" in text
    every_genre = card.metrics.get(IMDB_EVERY_GENRE, card.metrics["imdb"])
    for genre, threshold in card.thresholds.items():  # its row of the per-genre figures; no threshold: not tagged
        row = next(line for line in text.splitlines()
                   if line.startswith(f"| {genre} | {every_genre['average_precision'][genre]:.3f} |"))
        assert (f"| {threshold:.3f} |" if threshold is not None else "| – |") in row


def test_the_previous_model_is_named_by_its_version():
    card = GenreClassifier(MODEL).card
    text = card_markdown(card)
    previous = model_version(card.baseline)
    assert previous in ("v1", "v2", "v3") and f"| previous model ({previous}) |" in text  # v1's card holds a date


def test_report_plots_are_shown():
    text = page_text(build_demo(GenreClassifier(MODEL), REPO / "examples", REPO / "reports"))
    for plot in sorted((REPO / "reports").glob("*.png")):
        assert plot.name in text
    assert len(list((REPO / "reports").glob("*.png"))) >= 4


def test_committed_examples_one_per_genre_small_and_credited():
    examples = sorted((REPO / "examples").glob("*.jpg"))
    genres = example_genres(GenreClassifier(MODEL).card)
    assert len(examples) <= 5 and sorted(p.name.split("_")[0] for p in examples) == sorted(g.lower() for g in genres)
    for path in examples:
        assert Image.open(path).width <= 342
    credits = (REPO / "examples" / "README.md").read_text()
    assert "artwork" in credits and all(p.name in credits for p in examples)
    assert "Example posters" in page_text(build_demo(GenreClassifier(MODEL), REPO / "examples", REPO / "reports"))


def test_space_yaml_names_the_pinned_gradio_and_a_python_version():
    front = (REPO / "README.md").read_text().split("---")[1]
    fields = dict(line.split(":", 1) for line in front.strip().splitlines())
    pins = dict(line.split("==") for line in (REPO / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert fields["sdk_version"].strip() == pins["gradio"]
    assert fields["python_version"].strip().strip('"') == "3.11"
    assert fields["app_file"].strip() == "app.py"


@needs_both
@pytest.mark.slow
def test_examples_are_the_held_out_posters_most_typical_of_their_genre(tmp_path):
    classifier = GenreClassifier(MODEL)
    genres = example_genres(classifier.card)
    written = fill_examples(DATA_DIR, tmp_path, MODEL, IMDB_DIR)
    assert len(written) == len(genres) <= 5
    for genre, path in zip(genres, written):
        candidates = example_candidates(genre, DATA_DIR, IMDB_DIR)  # validation posters carrying the genre
        probs = file_probabilities(classifier, [p.path for p in candidates])[:, classifier.labels.index(genre)]
        chosen = next(i for i, p in enumerate(candidates) if path.stem.split("_", 1)[1] in (p.tmdb_id, p.path.stem))
        assert path.name.startswith(genre.lower()) and Image.open(path).width <= 342
        assert probs[chosen] == pytest.approx(probs.max())


def test_the_page_runs_the_model_once_per_upload():
    demo = build_demo(GenreClassifier(MODEL), REPO / "examples", REPO / "reports")
    config = demo.get_config_file()
    poster = next(c["id"] for c in config["components"] if c.get("props", {}).get("label") == "Poster")
    on_upload = [d for d in config["dependencies"] if [poster, "change"] in [list(t) for t in d["targets"]]]
    assert len(on_upload) == 1  # probabilities, tags and heatmap from one model run
    explain = next(d for d in config["dependencies"] if d.get("api_name") == "explain")
    assert explain["targets"] == []  # the /explain endpoint is for API callers only
    ids = {c.get("props", {}).get("elem_id"): c["id"] for c in config["components"]}
    retitle = [d for d in config["dependencies"] if [ids["title"], "submit"] in [list(t) for t in d["targets"]]]
    assert len(retitle) == 1 and [ids["year"], "blur"] in [list(t) for t in retitle[0]["targets"]]
    assert poster not in retitle[0]["inputs"]  # a new title or year never reruns the image model


def test_retitling_always_compares_with_the_poster_alone(sample_poster):
    from poster_genre.page import Handlers, PageAnswer

    handlers = Handlers(GenreClassifier(MODEL))

    def alone(answer: PageAnswer) -> str:
        return answer.changed.split("- Poster alone: ")[1].split("\n")[0]

    def shown(values: tuple) -> PageAnswer:  # the answer's fields, without the sections shown or hidden after them
        return PageAnswer(*values[:len(fields(PageAnswer))])

    plain = shown(handlers.upload(str(sample_poster), "", "", False, 3, ""))
    titled = shown(handlers.upload(str(sample_poster), "Zombie Strippers", "", False, 3, ""))
    both = shown(handlers.retext(titled.analysis, "Zombie Strippers", "2008", False, 3, ""))
    assert plain.changed == "" and alone(titled) == alone(both) and both.genres != plain.genres
    back = shown(handlers.retext(both.analysis, "  ", "", False, 3, ""))
    assert back.genres == plain.genres and back.tag_line == plain.tag_line and back.changed == ""
    assert handlers.forget_film(None) == (None, "", "")  # a removed poster clears the film's title and year
    assert handlers.forget_film(str(sample_poster))[0] is None  # a new one: the page cleared them at the drop


def test_a_model_without_activation_maps_is_served_without_the_heatmap(tmp_path):
    from benchmarks.run import without_maps

    classifier = GenreClassifier(without_maps(MODEL, tmp_path / "plain.onnx"))
    assert not classifier.has_maps
    config = build_demo(classifier, REPO / "examples", REPO / "reports").get_config_file()
    assert "no activation maps" in json.dumps(config, default=str)
    assert "explain" not in {d.get("api_name") for d in config["dependencies"]}
