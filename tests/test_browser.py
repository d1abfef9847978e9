"""Headless Chromium (Debian's) drives the real page: upload a poster, pick a genre's heat, click an example."""

from __future__ import annotations

import shutil

import pytest
from gradio_client import handle_file

from benchmarks.appserver import CHROMIUM, FLAGS, LABEL, open_page
from benchmarks.non_posters import non_posters
from poster_genre import GenreClassifier
from tests.conftest import MODEL, REPO, require_card, words_off

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def page(app_server):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        open_page(page, app_server.url)
        yield page
        browser.close()


def top_genre(client, path) -> str:
    result = client.predict(handle_file(str(path)), api_name="/predict")
    return max(result, key=result.get)


def test_upload_through_the_page_shows_the_top_genre_tags_and_heatmap(page, client, sample_poster):
    page.set_input_files("input[type=file]", str(sample_poster))
    page.wait_for_selector(LABEL, timeout=60_000)
    top = top_genre(client, sample_poster)
    assert page.inner_text(LABEL).strip().split(" · ")[0] == top  # the bar's name says what its tag means
    assert "Genres shown" in page.content()
    page.wait_for_selector(f"#heat-caption:has-text('{top}')", timeout=60_000)
    heatmap = page.wait_for_selector("#heatmap img[src]", timeout=60_000)
    width, height = heatmap.evaluate("img => img.complete ? [img.naturalWidth, img.naturalHeight] : [0, 0]")
    assert width > 0 and abs(width / height - 2 / 3) < 0.02  # a 2:3 poster keeps its shape
    tags = page.inner_text("#tags")
    assert "Tags:" in tags or "No confident genre" in tags


def test_tags_are_chips_and_every_bar_says_what_its_tag_means(page, app_server, client, horror_posters):
    open_page(page, app_server.url)
    page.set_input_files("input[type=file]", str(horror_posters[0]))
    chip = page.wait_for_selector("#tags .tag-chip", timeout=60_000)
    expected = client.predict(handle_file(str(horror_posters[0])), api_name="/tags")  # the same inputs' answer
    assert chip.inner_text().strip() == expected["genres"][0] == "Horror"
    assert chip.evaluate("e => getComputedStyle(e).borderRadius") not in ("", "0px")  # drawn as a chip
    thresholds = GenreClassifier(MODEL).thresholds("+".join(expected["inputs"][1:]) or None)  # its mode's
    bars = [line for line in page.inner_text("#genres").splitlines() if " · " in line]
    assert len(bars) >= 3  # the top genre's heading and the bars shown (3 by default)
    for name in bars:
        genre, meaning = name.strip().split(" · ")
        threshold = thresholds[genre]
        assert meaning == "probability only" if threshold is None else meaning.startswith(f"tag from {threshold:.0%}")
    assert "right at least half the time" in page.inner_text("#legend")


def test_an_image_that_is_not_a_poster_gets_a_note(page, app_server, tmp_path):
    require_card(GenreClassifier().card, "review")  # the model the app serves
    open_page(page, app_server.url)
    blank = tmp_path / "no-poster.png"
    non_posters()["placeholder NO POSTER AVAILABLE"].save(blank)
    page.set_input_files("input[type=file]", str(blank))
    page.wait_for_selector("#tags:has-text('Check this image')", timeout=60_000)
    assert "not like a film poster" in page.inner_text("#tags")


def test_a_horror_poster_is_tagged_horror_in_the_page(page, app_server, horror_posters):
    open_page(page, app_server.url)  # a fresh page: no earlier poster's tags on it
    page.set_input_files("input[type=file]", str(horror_posters[0]))
    page.wait_for_selector("#tags:has-text('Horror')", timeout=60_000)
    assert "Horror" in page.inner_text("#tags")


def test_a_title_and_year_change_the_answer_and_say_what_they_changed(page, app_server, sample_poster):
    open_page(page, app_server.url)  # a fresh page: the waits below see this upload's answer, not an earlier one
    words_off(page)
    page.set_input_files("input[type=file]", str(sample_poster))
    page.wait_for_selector(LABEL, timeout=60_000)
    page.fill("#title textarea, #title input", "Zombie Strippers")
    page.fill("#year textarea, #year input", "2008")
    page.press("#year textarea, #year input", "Enter")
    page.wait_for_selector("#changed:has-text('What the title and year changed')", timeout=60_000)
    changed = page.inner_text("#changed")
    assert "Poster alone:" in changed and "With the title and year:" in changed
    page.wait_for_selector("#heat-caption:has-text('the poster')", timeout=60_000)  # the heatmap stays the poster's
    page.fill("#year textarea, #year input", "3000")
    page.press("#year textarea, #year input", "Enter")
    page.wait_for_selector("#changed:has-text('not used')", timeout=60_000)
    assert "from 1880 to 2100" in page.inner_text("#changed")
    page.fill("#title textarea, #title input", "")
    page.fill("#year textarea, #year input", "")
    page.press("#year textarea, #year input", "Enter")
    page.wait_for_function("() => !document.querySelector('#changed').innerText.trim()", timeout=60_000)


def test_choosing_another_genre_redraws_the_heatmap(page, client, sample_poster):
    ranked = client.predict(handle_file(str(sample_poster)), api_name="/predict")
    least = min(ranked, key=ranked.get)
    before = page.get_attribute("#heatmap img", "src")
    page.click("#heat-genre input")
    page.locator(f"#heat-genre li:has-text('{least}')").first.click()
    page.wait_for_selector(f"#heat-caption:has-text('{least}')", timeout=60_000)
    page.wait_for_function(f"() => document.querySelector('#heatmap img')?.src !== {before!r}", timeout=60_000)


def test_a_refused_upload_clears_the_previous_answer_and_says_why(page, app_server, sample_poster, tmp_path):
    open_page(page, app_server.url)  # a fresh page: the heatmap below is this upload's, not an earlier test's
    page.set_input_files("input[type=file]", str(sample_poster))
    page.wait_for_selector("#heatmap img[src]", timeout=60_000)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    page.set_input_files("input[type=file]", str(broken))
    page.wait_for_selector("#tags:has-text('Not classified')", timeout=60_000)
    assert "not an image" in page.inner_text("#tags") and "Tags:" not in page.inner_text("#tags")
    assert page.locator(LABEL).count() == 0 and page.locator("#heatmap img").count() == 0
    assert page.locator(".toast-body").count() == 0  # said once, where the answer would be
    assert not page.locator("#where").is_visible()  # no heatmap section without an answer
    page.fill("input[aria-label='number input for Genres shown']", "5")  # the session state went too:
    page.press("input[aria-label='number input for Genres shown']", "Enter")  # re-ranking shows nothing
    page.wait_for_timeout(1500)
    assert page.locator(LABEL).count() == 0


def test_about_the_model_shows_every_report_plot_unclipped(page):
    plots = len(list((REPO / "reports").glob("*.png")))
    open_page(page, page.url)
    page.get_by_text("About the model").click()
    grid = page.locator(".grid-wrap").first
    grid.scroll_into_view_if_needed()
    page.mouse.wheel(0, 4000)
    page.wait_for_function(f"""() => {{
        const images = [...document.querySelectorAll('.grid-wrap img')];
        return images.length === {plots} && images.every(i => i.complete && i.naturalWidth > 0);
    }}""", timeout=60_000)
    scroll, visible = grid.evaluate("w => [w.scrollHeight, w.clientHeight]")
    assert scroll <= visible + 1  # no plot hidden below the gallery's edge


def test_clicking_an_example_classifies_it(page, client, examples_dir):
    examples = sorted(p for p in examples_dir.iterdir() if p.suffix == ".jpg")
    if not examples:
        assert "No example posters" in page.content()  # the hint shown for an empty folder
        return
    open_page(page, page.url)  # a fresh page with no answer yet
    assert page.locator(LABEL).count() == 0
    page.locator(".gallery-item").last.click()
    expected = top_genre(client, examples[-1])
    page.wait_for_function(
        f"() => document.querySelector('{LABEL}')?.innerText.trim().split(' · ')[0] === '{expected}'", timeout=60_000)
