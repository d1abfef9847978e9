"""poster-genre: drop a movie poster, get how likely each genre is, its tags, and where the model looked.

    python app.py [--host 127.0.0.1] [--port 7860] [--share] [--examples DIR] [--reports DIR] [--model FILE]
                  [--threads N] [--concurrency N] [--cache-age SECONDS]

Serving needs only onnxruntime, numpy, pillow and gradio: no TensorFlow, no matplotlib.
"""

from __future__ import annotations

import argparse
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from poster_genre import GenreClassifier
from poster_genre.cache import clean_cache_forever
from poster_genre.card_markdown import card_markdown
from poster_genre.many import ManyPosters, many_posters_tab
from poster_genre.model import ModelNotFoundError, default_model
from poster_genre.page import Handlers, PageAnswer
from poster_genre.page_text import LEGEND
from poster_genre.preprocess import IMAGE_SUFFIXES
from poster_genre.text import TITLE_LIMIT

HERE = Path(__file__).resolve().parent
MAX_UPLOAD = "15mb"
CACHE_AGE = 3600  # seconds an upload or a generated overlay stays in Gradio's cache
PLOT_ROW_HEIGHT = 420  # px per row of report plots in *About the model*
MOST_LIKELY = ""  # the genre choice that means "the most likely genre"


class PosterImage(gr.Image):
    """An image input that hands the uploaded file itself to our decoder, so a bad file gets our message."""

    def get_block_name(self) -> str:
        return "image"

    def preprocess(self, payload):
        return payload.path if payload is not None and payload.path else super().preprocess(payload)


def example_posters(folder: Path) -> list[list[str]]:
    """Image files of `folder`, sorted, as gr.Examples rows."""
    if not folder.is_dir():
        return []
    return [[str(p)] for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]


@dataclass
class Page:
    """The page's components that handlers read or write."""

    poster: gr.Image
    title: gr.Textbox
    year: gr.Textbox
    read_words: gr.Checkbox
    tag_line: gr.Markdown
    genres: gr.Label
    top_k: gr.Slider
    changed: gr.Markdown
    words: gr.Markdown
    genre: gr.Dropdown
    caption: gr.Markdown
    heatmap: gr.Image
    boxes: gr.Image
    boxes_section: gr.Accordion
    heat_section: gr.Accordion
    analysis: gr.State
    boxes_open: gr.State  # whether "Where the words are" is open: the boxes are drawn only then
    answered_with: gr.State  # the title and year the shown answer used

    def answer_inputs(self) -> list:
        return [self.title, self.year, self.read_words, self.top_k, self.genre, self.boxes_open]

    def answer_outputs(self) -> list:
        """The components of `PageAnswer`'s fields, by name, then the two sections, as `PageAnswer.values` gives them."""
        return [*(getattr(self, name) for name in PageAnswer.names()), self.heat_section, self.boxes_section]


CSS = """
#answer-tags p { margin: 0; }
.tag-chip { display: inline-block; padding: 1px 10px; margin: 2px 4px 2px 0; border-radius: 999px;
            background: var(--color-accent-soft); border: 1px solid var(--color-accent); font-weight: 600; }
.card-table table { display: block; overflow-x: auto; max-width: 100%; }
.card-table th, .card-table td { white-space: nowrap; }
.many-scroll { overflow-x: auto; max-width: 100%; }
.many-table img { max-width: none; }
.many-table td:nth-child(6) { min-width: 16em; }
.many-table td { vertical-align: top; }
@media (max-width: 640px) {
  .stack-on-phone { flex-direction: column !important; }
  .stack-on-phone > * { min-width: 100% !important; }
  #poster-column { display: contents; }
  #answer-column { order: 1; }
  #examples { order: 2; }
}
"""  # the model card's tables scroll sideways instead of wrapping; rows stack on a phone


FORGET_FILM_ON_DROP = """() => {
  const boxes = ['#title textarea, #title input', '#year textarea, #year input'];
  const forget = () => {  // the moment a poster replaces a shown one: not after its upload, when typing has begun
    if (!document.querySelector('[data-testid="label-output-value"]')) return;  // before the first: kept
    for (const box of boxes.map(selector => document.querySelector(selector)).filter(box => box && box.value)) {
      box.value = '';
      box.dispatchEvent(new Event('input', {bubbles: true}));
    }
  };
  const on = (kind, test) => document.addEventListener(kind, event => { if (test(event.target)) forget(); }, true);
  on('change', target => target.type === 'file' && target.closest('#poster'));
  on('drop', target => target.closest && target.closest('#poster'));
  on('paste', target => target.closest && target.closest('#poster'));
  on('click', target => target.closest && target.closest('#examples button, #examples .gallery-item'));
}"""  # the page's script: a poster dropped on one already answered clears the title and year there at that moment


def layout(classifier: GenreClassifier, many: ManyPosters, examples_dir: Path, reports_dir: Path, cache_age: int
           ) -> Page:
    """The page, top to bottom: one poster (or many, in their own tab); the model card."""
    header(classifier)
    with gr.Tab("One poster", elem_id="one-poster"):
        page = one_poster(classifier, examples_dir, cache_age)
    with gr.Tab("Many posters", elem_id="many-posters"):
        many_posters_tab(many)
    with gr.Accordion("About the model", open=False, elem_id="about"):
        gr.Markdown(card_markdown(classifier.card), elem_classes="card-table")
        report_gallery(reports_dir)
    return page


def one_poster(classifier: GenreClassifier, examples_dir: Path, cache_age: int) -> Page:
    """Poster, its title and year and the examples beside the answer (on a phone: the answer right under the
    poster, then the examples); the heatmap, shown with an answer."""
    labels, reads = classifier.labels, classifier.words_wanted()
    with gr.Row(elem_classes="stack-on-phone", elem_id="one-row"):
        with gr.Column(elem_id="poster-column"):
            poster = PosterImage(type="filepath", image_mode=None, sources=["upload", "clipboard"], label="Poster",
                                 height=340, elem_id="poster")
            with gr.Row(visible=classifier.text is not None):
                title = gr.Textbox(label="Title (optional)", placeholder="e.g. Kill Zone", max_length=TITLE_LIMIT,
                                   elem_id="title", scale=3, min_width=160)
                year = gr.Textbox(label="Year (optional)", placeholder="e.g. 1993", elem_id="year", scale=1,
                                  min_width=90)
            read_words = gr.Checkbox(reads, label="Read the words on the poster", visible=reads, elem_id="read-words")
            examples_section(poster, examples_dir)
        with gr.Column(elem_id="answer-column"):
            tag_line = gr.Markdown(elem_id="tags")
            genres = gr.Label(num_top_classes=len(labels), label="Genres", elem_id="genres")
            gr.Markdown(LEGEND, elem_id="legend")
            top_k = gr.Slider(1, len(labels), value=3, step=1, label="Genres shown")
            changed = gr.Markdown(elem_id="changed")
            words = gr.Markdown(elem_id="words")
            with gr.Accordion("Where the words are", open=False, visible=reads, elem_id="word-boxes") as boxes_section:
                boxes = gr.Image(type="pil", format="jpeg", label="Words read", height=340, interactive=False,
                                 elem_id="boxes")
    with gr.Accordion("Where it looked", open=True, visible=False, elem_id="where") as heat_section:
        with gr.Row(elem_classes="stack-on-phone"):
            genre = gr.Dropdown([("most likely", MOST_LIKELY), *[(g, g) for g in labels]], value=MOST_LIKELY,
                                label="Genre", scale=1, min_width=200, elem_id="heat-genre")
            with gr.Column(scale=2, min_width=240):
                caption = gr.Markdown(elem_id="heat-caption")
                gr.Markdown("Brighter means more evidence for this genre rather than for the others; the "
                            "scale runs from dark purple through red to pale yellow.")
        heatmap = gr.Image(type="pil", format="jpeg", label="Where it looked", height=420, elem_id="heatmap",
                           interactive=False)
    return Page(poster, title, year, read_words, tag_line, genres, top_k, changed, words, genre, caption, heatmap,
                boxes, boxes_section, heat_section, gr.State(time_to_live=cache_age), gr.State(False), gr.State())


def header(classifier: GenreClassifier) -> None:
    """What the page does, with what it can use, and which inputs besides the poster this server cannot use, and
    why (nothing when it can use them all)."""
    invitation = " Add the film's title and year, if you know them, to combine them with the poster." \
        if classifier.text else ""
    invitation += " The words printed on the poster are read and used too." if classifier.words_wanted() else ""
    gr.Markdown(f"# Poster genre\nDrop a movie poster to see how likely each genre is: "
                f"{', '.join(classifier.labels)}.{invitation}")
    missing = classifier.unavailable_inputs()
    if missing:
        gr.Markdown("**Not available on this server:** " + "; ".join(f"{name}, since {why}" for name, why in
                                                                     missing.items()) + ". Answers rest on the rest.",
                    elem_id="unavailable")


def examples_section(poster: gr.Image, examples_dir: Path) -> None:
    examples = example_posters(examples_dir)
    if examples:
        gr.Examples(examples, inputs=poster, label="Example posters", examples_per_page=len(examples),
                    elem_id="examples")
    else:
        gr.Markdown(f"*No example posters in `{examples_dir}`: put a few poster images there "
                    "(or set `POSTER_GENRE_EXAMPLES`) to get clickable examples.*")


def report_gallery(reports_dir: Path) -> None:
    """Every report plot, the gallery tall enough for all its rows ("auto" clipped the second)."""
    plots = sorted(reports_dir.glob("*.png")) if reports_dir.is_dir() else []
    if plots:
        gr.Gallery([(str(p), p.stem.replace("_", " ")) for p in plots], columns=3,
                   height=PLOT_ROW_HEIGHT * -(-len(plots) // 3), object_fit="contain", label="Validation report")


def connect(page: Page, handlers: Handlers, has_maps: bool) -> None:
    """Page events (one model run per upload; re-ranking and re-drawing from the session state) and the API."""
    dropped = page.poster.change(handlers.forget_film, page.poster, [page.analysis, page.title, page.year],
                                 queue=False, api_visibility="undocumented")
    dropped.then(handlers.upload, [page.poster, *page.answer_inputs()], page.answer_outputs(),
                 api_visibility="undocumented", show_progress="minimal", show_progress_on=page.tag_line).then(
        handlers.catch_up, [page.answered_with, page.analysis, *page.answer_inputs()], page.answer_outputs(),
        api_visibility="undocumented", show_progress="hidden")
    gr.on([page.title.submit, page.title.blur, page.year.submit, page.year.blur, page.read_words.change],
          handlers.retext, [page.analysis, *page.answer_inputs()], page.answer_outputs(), api_visibility="undocumented",
          trigger_mode="always_last")  # leaving the title for the year must not drop the year's event
    page.top_k.change(handlers.rerank, [page.analysis, page.top_k], page.genres, api_visibility="undocumented")
    page.boxes_section.expand(handlers.show_boxes, [page.analysis, page.read_words], [page.boxes_open, page.boxes],
                              api_visibility="undocumented")
    page.boxes_section.collapse(handlers.hide_boxes, None, [page.boxes_open, page.boxes], api_visibility="undocumented")
    page.genre.change(handlers.reheat, [page.analysis, page.genre], [page.caption, page.heatmap],
                      api_visibility="undocumented")
    if has_maps:
        gr.api(handlers.explain, api_name="explain")
    else:
        gr.Markdown("*This model has no activation maps, so there is no heatmap: add them with "
                    "`python -m export.activation_maps MODEL.onnx`.*")
    gr.api(handlers.predict, api_name="predict")
    gr.api(handlers.tags, api_name="tags")


def build_demo(classifier: GenreClassifier, examples_dir: Path, reports_dir: Path,
               cache_age: int = CACHE_AGE) -> gr.Blocks:
    """The Space: poster in; probabilities, tags and a heatmap out; examples; the model card."""
    handlers = Handlers(classifier)
    many = ManyPosters(classifier, handlers.gate)
    with gr.Blocks(title="Poster genre") as demo:  # its files leave at cache_age: clean_cache_forever, in main
        page = layout(classifier, many, examples_dir, reports_dir, cache_age)
        connect(page, handlers, classifier.has_maps)
    return demo


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--share", action="store_true", default=os.environ.get("POSTER_GENRE_SHARE") == "1",
                        help="public gradio.live link (or POSTER_GENRE_SHARE=1)")
    parser.add_argument("--model", type=Path, default=default_model(),
                        help="ONNX model (default: $POSTER_GENRE_MODEL, else the bundled model)")
    parser.add_argument("--examples", type=Path,
                        default=Path(os.environ.get("POSTER_GENRE_EXAMPLES", HERE / "examples")))
    parser.add_argument("--reports", type=Path, default=HERE / "reports")
    parser.add_argument("--threads", type=int, help="onnxruntime threads (default: POSTER_GENRE_THREADS or all cores)")
    parser.add_argument("--concurrency", type=int, default=2, help="requests classified at once")
    parser.add_argument("--cache-age", type=int, default=int(os.environ.get("POSTER_GENRE_CACHE_AGE", CACHE_AGE)),
                        help="seconds before uploads and overlays are deleted from Gradio's cache "
                             "(or POSTER_GENRE_CACHE_AGE; default 3600)")
    return parser.parse_args()


def port_in_use(host: str, port: int) -> str | None:
    """Why `port` cannot be served on `host` (taken by another program, or not ours to bind), else None."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, port))
    except OSError as error:
        return error.strerror or str(error)
    return None


def main() -> None:
    args = parse_args()
    busy = port_in_use(args.host, args.port)
    if busy:
        raise SystemExit(f"app.py: error: cannot serve on {args.host}:{args.port} ({busy}); another server may be "
                         "using it: stop it, or pick another port with --port (or GRADIO_SERVER_PORT).")
    try:
        classifier = GenreClassifier(args.model, args.threads)
    except ModelNotFoundError as error:
        raise SystemExit(f"app.py: error: {error} Give a model with --model (or POSTER_GENRE_MODEL), or restore "
                         "model.onnx from the repository.") from None
    demo = build_demo(classifier, args.examples, args.reports, args.cache_age)
    clean_cache_forever(demo, args.cache_age)
    demo.queue(default_concurrency_limit=args.concurrency, max_size=64)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, max_file_size=MAX_UPLOAD,
                allowed_paths=[str(args.reports)], css=CSS, js=FORGET_FILM_ON_DROP)


if __name__ == "__main__":
    main()
