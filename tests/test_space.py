"""The Space's page as built from model.onnx: model card, report plots, examples or the hint."""

from __future__ import annotations

import json

from app import build_demo, example_posters, model_card_markdown
from poster_genre import GenreClassifier
from tests.conftest import DATA_DIR, MODEL, REPO, needs_data, synthetic_poster


def page_text(demo) -> str:
    return json.dumps(demo.get_config_file())


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
    text = model_card_markdown(card)
    assert card.backbone in text and f"{card.input_size[0]}×{card.input_size[1]}" in text
    assert f"{card.metrics['accuracy']:.1%}" in text and f"{card.probe['accuracy']:.1%}" in text
    assert str(card.data["train"]) in text and str(card.data["val"]) in text
    for genre in card.labels:
        assert f"| {genre} |" in text


def test_report_plots_are_shown():
    text = page_text(build_demo(GenreClassifier(MODEL), REPO / "examples", REPO / "reports"))
    for plot in ("confusion_matrix", "training_curves", "selective_accuracy"):
        assert f"{plot}.png" in text


@needs_data
def test_examples_are_the_most_confident_held_out_posters(tmp_path):
    from train.data import read_posters, split
    from train.examples import fill_examples

    written = fill_examples(DATA_DIR, tmp_path, per_genre=2)
    _, val = split(read_posters(DATA_DIR))
    val_by_id = {str(p.tmdb_id): p for p in val}
    classifier = GenreClassifier(MODEL)
    for genre in classifier.labels:
        files = [f for f in written if f.name.startswith(f"{genre.lower()}_")]
        assert len(files) == 2
        chosen = [val_by_id[f.stem.split("_")[1]] for f in files]
        assert all(p.genre == genre for p in chosen)
        confidence = {p.tmdb_id: classifier.predict(p.path)[0].confidence
                      for p in val if p.genre == genre}
        assert sorted(confidence.values())[-2:] == sorted(confidence[p.tmdb_id] for p in chosen)
