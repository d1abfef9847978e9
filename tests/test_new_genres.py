"""Genres beyond the five, served from the model's card: real horror posters through the CLI and the API.

(The page is checked in tests/test_browser.py.)"""

from __future__ import annotations

import json

import pytest
from gradio_client import handle_file

from tests.conftest import run_cli


@pytest.mark.slow
def test_the_cli_tags_most_horror_films_horror(horror_posters):
    result = run_cli(*map(str, horror_posters), "--top-k", "all", env={"POSTER_GENRE_MODEL": ""})
    assert result.returncode == 0, result.stderr
    records = {r["file"]: r for r in map(json.loads, result.stdout.splitlines())}
    tagged = [str(p) for p in horror_posters if "Horror" in records[str(p)]["genres"]]
    assert len(tagged) >= 0.4 * len(horror_posters), f"{len(tagged)} of {len(horror_posters)} tagged Horror"
    assert str(horror_posters[0]) in tagged
    first = records[str(horror_posters[0])]
    assert len(first["labels"]) > 5 and "Horror" in [item["label"] for item in first["labels"]]


def test_the_api_tags_a_horror_poster_horror(client, horror_posters):
    poster = handle_file(str(horror_posters[0]))
    assert "Horror" in client.predict(poster, api_name="/tags")["genres"]
    ranked = client.predict(poster, api_name="/predict")
    assert "Horror" in ranked and len(ranked) > 5
