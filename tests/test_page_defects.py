"""The one-poster page's rough edges, each driven in headless Chromium: a misspelt heatmap genre, a title typed while
the answer is worked out, the answer's place on a phone, empty boxes, tags without bars, review messages."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image, ImageDraw, ImageFont

from benchmarks.appserver import LABEL
from poster_genre import GenreClassifier
from poster_genre.rules import review_reasons
from tests.conftest import MODEL, require_card, words_off
from tests.test_browser import pytestmark, sync_api  # noqa: F401
from tests.test_page_layout import DESKTOP, PHONE, box, fresh_page

ERROR_TOAST = ".toast-body.error, [data-testid='toast-body']"


def examples(examples_dir):
    return sorted(p for p in examples_dir.iterdir() if p.suffix == ".jpg")


def wait_for_tags_of(page, client, poster, **given) -> dict:
    """Wait until the page shows `poster`'s answer (its most likely genre and its tags, as /tags gives them)."""
    expected = client.predict(handle_file(str(poster)), **given, api_name="/tags")
    page.wait_for_function(f"() => document.querySelector('{LABEL}')?.innerText.trim().split(' · ')[0] === "
                           f"'{expected['labels'][0]['label']}'", timeout=60_000)
    page.wait_for_function(f"() => [...document.querySelectorAll('#tags .tag-chip')].map(c => c.innerText.trim())"
                           f".join('|') === '{'|'.join(expected['genres'])}'", timeout=60_000)
    return expected


def test_a_misspelt_heatmap_genre_cannot_break_later_uploads(browser, app_server, client, examples_dir):
    first, second = examples(examples_dir)[:2]
    page = fresh_page(browser, app_server, DESKTOP)
    words_off(page)
    page.set_input_files("input[type=file]", str(first))
    wait_for_tags_of(page, client, first, read_words=False)
    page.click("#heat-genre input")
    page.keyboard.type("Horor")
    page.keyboard.press("Enter")
    page.click("#heat-caption")  # leave the box
    page.set_input_files("input[type=file]", str(second))
    wait_for_tags_of(page, client, second, read_words=False)
    page.wait_for_selector("#heatmap img[src]", timeout=60_000)
    assert page.locator(ERROR_TOAST).count() == 0
    assert "Horor" not in page.inner_text("#heat-caption")
    assert page.input_value("#heat-genre input") != "Horor"  # only the served genres can be chosen
    page.close()


def test_a_title_typed_while_the_answer_is_worked_out_is_kept_and_used(browser, app_server, client, tmp_path,
                                                                        examples_dir):
    rows, columns = np.linspace(0, 255, 7500)[:, None], np.linspace(0, 255, 5000)[None, :]
    large = tmp_path / "large-poster.png"  # decoding it takes long enough to type meanwhile
    Image.fromarray(np.stack(np.broadcast_arrays(rows, columns, (rows + columns) / 2), -1).astype(np.uint8)).save(large)
    page = fresh_page(browser, app_server, DESKTOP)
    words_off(page)
    page.set_input_files("input[type=file]", str(examples(examples_dir)[0]))  # a film before this one
    wait_for_tags_of(page, client, examples(examples_dir)[0], read_words=False)
    page.set_input_files("input[type=file]", str(large))
    page.locator("#title textarea, #title input").press_sequentially("Leon: The Professional", delay=20)
    page.press("#title textarea, #title input", "Tab")
    page.locator("#year textarea, #year input").press_sequentially("1994", delay=20)
    page.press("#year textarea, #year input", "Tab")
    page.wait_for_selector("#changed:has-text('What the title and year changed')", timeout=60_000)
    wait_for_tags_of(page, client, large, title="Leon: The Professional", year="1994", read_words=False)
    assert page.input_value("#title textarea, #title input") == "Leon: The Professional"
    assert page.input_value("#year textarea, #year input") == "1994"
    page.close()


def test_on_a_phone_the_answer_comes_right_under_the_poster(browser, app_server, client, examples_dir):
    poster = examples(examples_dir)[0]
    page = fresh_page(browser, app_server, PHONE)
    page.set_input_files("input[type=file]", str(poster))
    wait_for_tags_of(page, client, poster)
    upload, tags, shown = box(page, "#poster"), box(page, "#tags"), box(page, "#examples")
    assert upload["y"] + upload["height"] <= tags["y"] < shown["y"], (upload, tags, shown)
    page.close()


def test_no_empty_words_box_and_every_tag_has_its_bar(browser, app_server, client, examples_dir):
    poster = max(examples(examples_dir), key=lambda p: len(client.predict(handle_file(str(p)), api_name="/tags")
                                                                ["genres"]))
    page = fresh_page(browser, app_server, DESKTOP)
    page.set_input_files("input[type=file]", str(poster))
    expected = wait_for_tags_of(page, client, poster)
    assert len(expected["genres"]) > 3, "no example has more tags than the bars shown by default"
    bars = [line.split(" · ")[0].strip() for line in page.inner_text("#genres").splitlines() if " · " in line]
    assert set(expected["genres"]) <= set(bars), (expected["genres"], bars)
    if GenreClassifier(MODEL).words_wanted():
        assert page.locator("#word-boxes").is_visible()
        page.locator("#read-words input").uncheck()
        page.wait_for_function("() => !document.querySelector('#words')?.innerText.trim()", timeout=60_000)
        page.wait_for_selector("#word-boxes", state="hidden", timeout=60_000)
    page.close()


def test_a_flat_image_is_told_why_once(browser, app_server, tmp_path):
    require_card(GenreClassifier(MODEL).card, "review")
    grey = tmp_path / "grey.png"
    Image.new("RGB", (300, 450), (128, 128, 128)).save(grey)
    page = fresh_page(browser, app_server, DESKTOP)
    page.set_input_files("input[type=file]", str(grey))
    page.wait_for_selector("#tags:has-text('Check this image')", timeout=60_000)
    assert page.inner_text("#tags").count("not like a film poster") == 1
    page.close()


def test_a_poster_whose_words_were_read_is_not_told_it_has_no_title():
    limits = GenreClassifier(MODEL).card.review.get("limits") or {"flat_share_above": 1, "colours_below": 0,
                                                                   "detail_above": 1, "detail_below": 0.5,
                                                                   "edges_below": 0.5}
    blurred = {"flat_share": 0.0, "colours": 1e9, "detail": 0.0, "edges": 0.0}
    assert "no title or credits" in review_reasons(0.9, 0.5, blurred, limits)[0]
    said = review_reasons(0.9, 0.5, blurred, limits, words_found=True)
    assert len(said) == 1 and "no sharp edges" in said[0] and "title" not in said[0]


def test_a_tiny_poster_whose_title_was_read_is_not_told_it_has_none(browser, app_server, tmp_path):
    classifier = GenreClassifier(MODEL)
    require_card(classifier.card, "review")
    if not classifier.words_wanted():
        pytest.skip("the served model reads no words here")
    tiny = tmp_path / "leon.png"
    poster = Image.new("RGB", (40, 60), (200, 190, 170))
    ImageDraw.Draw(poster).text((2, 22), "LEON", font=ImageFont.load_default(size=12), fill=(10, 10, 10))
    poster.save(tiny)
    page = fresh_page(browser, app_server, DESKTOP)
    page.set_input_files("input[type=file]", str(tiny))
    page.wait_for_selector("#words:has-text('LEON')", timeout=60_000)
    page.wait_for_selector("#tags:has-text('Check this image')", timeout=60_000)
    assert "no title or credits" not in page.inner_text("#tags") and "no sharp edges" in page.inner_text("#tags")
    page.close()
