"""The page in headless Chromium at a desktop's and a phone's width: what is on the first screen, what stacks,
the model card's tables, and a new poster never inheriting the previous film's title and year.

Screenshots of each width are written under pytest's temporary folder (printed with -s) for a person to look at.
"""

from __future__ import annotations

from gradio_client import handle_file

from benchmarks.appserver import LABEL, open_page
from tests.conftest import words_off
from tests.test_browser import pytestmark, sync_api  # noqa: F401

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Cells of the card's tables whose text runs over more than one line, or is cut off inside the cell.
WRAPPED_CELLS = """() => [...document.querySelectorAll('#about table td, #about table th')].filter(cell => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    return lines.size > 1 || cell.scrollWidth > cell.clientWidth + 1;
}).map(cell => cell.innerText)"""


def fresh_page(browser, app_server, viewport):
    page = browser.new_page(viewport=viewport)
    open_page(page, app_server.url)
    return page


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_the_first_screen_holds_the_upload_box_and_the_examples(browser, app_server, tmp_path):
    page = fresh_page(browser, app_server, DESKTOP)
    page.wait_for_selector("#examples img", timeout=60_000)
    page.screenshot(path=str(tmp_path / "desktop_first_screen.png"))
    print(tmp_path / "desktop_first_screen.png")
    for selector in ("#poster", "#examples .gallery-item"):
        assert box(page, selector)["y"] + box(page, selector)["height"] <= DESKTOP["height"], selector
    assert not page.locator("#where").is_visible()  # no empty heatmap box before an answer
    page.locator("#examples .gallery-item").first.click()
    page.wait_for_selector("#heatmap img[src]", timeout=60_000)
    assert page.locator("#where").is_visible()
    page.screenshot(path=str(tmp_path / "desktop_answer.png"), full_page=True)
    page.close()


def test_on_a_phone_everything_stacks_and_the_cards_tables_scroll_instead_of_wrapping(browser, app_server,
                                                                                     tmp_path, sample_poster):
    page = fresh_page(browser, app_server, PHONE)
    page.set_input_files("input[type=file]", str(sample_poster))
    page.wait_for_selector("#heatmap img[src]", state="attached", timeout=60_000)
    page.locator("#heatmap").scroll_into_view_if_needed()  # far down a phone's page: Gradio loads it lazily
    page.wait_for_selector("#heatmap img[src]", timeout=60_000)
    poster, genres = box(page, "#poster"), box(page, LABEL)
    assert genres["y"] > poster["y"] + poster["height"] - 1  # the answer below the poster, not squeezed beside it
    choice, caption = box(page, "#heat-genre"), box(page, "#heat-caption")
    assert caption["y"] >= choice["y"] + choice["height"] - 1 and caption["width"] > PHONE["width"] / 2
    page.get_by_text("About the model").click()
    page.wait_for_selector("#about table td", timeout=60_000)
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    print(tmp_path / "phone.png")
    assert page.evaluate("() => document.querySelectorAll('#about table td').length") > 20
    assert page.evaluate(WRAPPED_CELLS) == []
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1  # the page itself never scrolls sideways: the tables do
    page.close()


def test_a_new_poster_clears_the_previous_films_title_and_year(browser, app_server, client, examples_dir):
    examples = sorted(p for p in examples_dir.iterdir() if p.suffix == ".jpg")
    page = fresh_page(browser, app_server, DESKTOP)
    words_off(page)
    page.locator("#examples .gallery-item").first.click()
    page.wait_for_selector(LABEL, timeout=60_000)
    page.fill("#title textarea, #title input", "Something Borrowed")
    page.fill("#year textarea, #year input", "2011")
    page.press("#year textarea, #year input", "Enter")
    page.wait_for_selector("#changed:has-text('What the title and year changed')", timeout=60_000)
    expected = client.predict(handle_file(str(examples[-1])), read_words=False, api_name="/tags")  # the poster alone
    page.locator("#examples .gallery-item").last.click()  # another film
    # One wait for the whole answer that belongs to this click: the film's title and year gone, nothing said about
    # what they changed, and the new poster's most likely genre and tags shown.
    page.wait_for_function(
        """([label, top, tags]) => {
             const value = selector => document.querySelector(selector)?.value;
             const chips = [...document.querySelectorAll('#tags .tag-chip')].map(c => c.innerText.trim()).join('|');
             return value('#title textarea, #title input') === '' && value('#year textarea, #year input') === ''
               && !document.querySelector('#changed').innerText.trim()
               && document.querySelector(label)?.innerText.trim().split(' · ')[0] === top && chips === tags;
           }""", arg=[LABEL, expected["labels"][0]["label"], "|".join(expected["genres"])], timeout=60_000)
    page.close()


def test_a_title_typed_before_the_first_poster_is_used_and_the_heat_shows_the_posters_own_probability(
        browser, app_server, client, sample_poster):
    page = fresh_page(browser, app_server, DESKTOP)
    words_off(page)
    page.fill("#title textarea, #title input", "Zombie Strippers")
    page.set_input_files("input[type=file]", str(sample_poster))
    page.wait_for_selector("#changed:has-text('What the title changed')", timeout=60_000)
    assert page.input_value("#title textarea, #title input") == "Zombie Strippers"
    page.wait_for_selector("#heat-caption:has-text('from the poster alone')", timeout=60_000)
    caption = page.inner_text("#heat-caption")
    genre = caption.split("Heat for ")[1].split(":")[0].strip()
    poster_alone = client.predict(handle_file(str(sample_poster)), read_words=False, api_name="/predict")[genre]
    fused = client.predict(handle_file(str(sample_poster)), title="Zombie Strippers", read_words=False,
                           api_name="/predict")[genre]
    assert f"{poster_alone:.0%} from the poster alone ({fused:.0%} with the title)" in caption
    page.close()
