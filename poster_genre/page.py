"""The page's handlers and the API's endpoints, over one classifier and the package's one analysis path.

`app.py` lays the page out and wires these to it; every answer comes from `poster_genre.analysis`. Needs Gradio
(`pip install "poster-genre[app]"`); nothing else in the package imports this module.
"""

# No `from __future__ import annotations`: gr.api reads the endpoints' return types (a tuple is several outputs).
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace

import gradio as gr
from gradio.data_classes import FileData
from PIL import Image, ImageDraw

from poster_genre.analysis import (
    Analysis,
    analyse,
    answer,
    start_reading,
    with_text,
    words_or_note,
)
from poster_genre.answer import top_k_count
from poster_genre.cache import cache_folder
from poster_genre.classifier import GenreClassifier
from poster_genre.explain import UnknownGenreError, heat
from poster_genre.explain import explain as explain_poster
from poster_genre.fairness import SinglesFirst
from poster_genre.page_text import bar_name, given_inputs, tags_markdown, words_markdown
from poster_genre.preprocess import InvalidImageError
from poster_genre.text import NO_TEXT, TextInput, TextInputError


@contextmanager
def refusing() -> Iterator[None]:
    """Turn our own clear refusals (an unusable image, an unknown genre) into the caller's gr.Error."""
    try:
        yield
    except (InvalidImageError, TextInputError, UnknownGenreError) as error:
        raise refuse(str(error)) from None


def refuse(message: str) -> gr.Error:
    return gr.Error(message, print_exception=False)


HOW_TO_SEND = "send it as a file: client.predict(handle_file('poster.jpg'), ..., api_name=...)"


def uploaded_path(poster: FileData | dict | str | None) -> str:
    """The server's copy of an API upload (gr.api passes FileData as a dict), or a refusal saying how to send it."""
    if poster is None:
        raise refuse(f"No poster was sent; {HOW_TO_SEND}.")
    if isinstance(poster, str):
        raise refuse(f"The poster {poster[:80]!r} is a plain string, not an uploaded file; {HOW_TO_SEND}.")
    if not isinstance(poster, dict) or not poster.get("path"):
        raise refuse(f"The poster is not an uploaded file; {HOW_TO_SEND}.")
    return poster["path"]


def sent_top_k(top_k: object, genres: int) -> int:
    """The API's `top_k` as a number of genres (`poster_genre.answer.top_k_count`), or a refusal saying what to send."""
    try:
        return top_k_count(top_k, genres)
    except ValueError as error:
        raise refuse(str(error)) from None


def words_overlay(analysis: Analysis) -> Image.Image | None:
    """The poster with a box around each word read on it (None when none were read)."""
    if not analysis.words:
        return None
    shown = analysis.image.convert("RGB")
    draw = ImageDraw.Draw(shown)
    for word in analysis.words:
        draw.polygon([tuple(point) for point in word.box], outline=(255, 210, 0), width=2)
    return shown


def sent_read_words(read_words: object) -> bool:
    """The API's `read_words` as a bool, or a refusal saying what to send."""
    if not isinstance(read_words, bool):
        raise refuse(f"read_words must be true or false, not {read_words!r}.")
    return read_words


@dataclass
class PageAnswer:
    """What the page shows for a poster: each field goes to the page's component of the same name
    (`app.Page.answer_outputs` lists them from these fields)."""

    analysis: Analysis | None = None  # the session state: one model run, kept for re-ranking, re-drawing, re-titling
    genres: dict[str, float] | None = None
    tag_line: str = ""
    changed: str = ""  # what the words, the title and the year changed against the poster alone
    words: str = ""  # the words read on the poster
    caption: str = ""
    heatmap: Image.Image | None = None
    boxes: Image.Image | None = None  # where the words are
    answered_with: tuple[str, str] | None = None  # the title and year this answer used

    @staticmethod
    def names() -> list[str]:
        """The fields, in the order `values` gives them: the names of the page's components that show them."""
        return [field.name for field in fields(PageAnswer)]

    @staticmethod
    def unchanged() -> tuple:
        """Every output as it is (the fields and both sections)."""
        return tuple(gr.skip() for _ in range(len(fields(PageAnswer)) + 2))

    def values(self, words_shown: bool = False) -> tuple:
        """The fields in order, as Gradio takes a handler's outputs (the analysis itself, not a copy), then the
        heatmap section, shown only beside an answer that has a heatmap, and "Where the words are", shown only while
        the words are read (`words_shown`)."""
        return (*(getattr(self, field.name) for field in fields(self)), gr.Accordion(visible=self.heatmap is not None),
                gr.Accordion(visible=words_shown))


class Handlers:
    """The page's handlers and the API's endpoints, over one classifier and its one analysis path."""

    def __init__(self, classifier: GenreClassifier) -> None:
        self.classifier = classifier
        self.labels = classifier.labels
        self.gate = SinglesFirst()  # many-poster runs wait between posters while a single poster is answered
        self.overlays = cache_folder("explain-")  # /explain's PNGs

    def forget_film(self, poster: str | None) -> tuple:
        """Once a poster is uploaded: the previous analysis goes, so no title typed meanwhile is answered with it (the
        page's script cleared the old title and year at the drop, `app.FORGET_FILM_ON_DROP`); a removal clears them."""
        return None, *(("", "") if poster is None else (gr.skip(), gr.skip()))

    def upload(self, poster: str | None, title: str, year: str, read_words: bool, top_k: int, genre: str | None,
               boxes_open: bool = False) -> tuple:
        """The page's one model run per poster (and one reading of its words, when asked); a refused poster
        clears the previous answer and says why."""
        words_shown = bool(read_words) and self.classifier.reads_words
        if poster is None:
            return PageAnswer().values()
        try:
            with self.gate.single():
                analysis = analyse(self.classifier, poster, read_words=words_shown)
        except InvalidImageError as error:
            return PageAnswer(tag_line=f"**Not classified:** {error}").values()
        return self.answer(analysis, title, year, read_words, top_k, genre, boxes_open).values(words_shown)

    def catch_up(self, answered: tuple[str, str] | None, analysis: Analysis | None, title: str, year: str,
                 read_words: bool, top_k: int, genre: str | None, boxes_open: bool = False) -> tuple:
        """After an upload's answer: a title or year typed while it was worked out is used now (no model run)."""
        if analysis is None or answered is None or answered == (title, year):
            return PageAnswer.unchanged()
        return self.retext(analysis, title, year, read_words, top_k, genre, boxes_open)

    def retext(self, analysis: Analysis | None, title: str, year: str, read_words: bool, top_k: int,
               genre: str | None, boxes_open: bool = False) -> tuple:
        """A new title or year, or the words switched on or off, for the shown poster: the text model and fusion
        only, no image model run (the words are read the first time they are asked for). Without a poster shown
        (or while a dropped one is worked out) nothing changes."""
        if analysis is None:
            return PageAnswer.unchanged()
        if read_words and analysis.words is None and analysis.words_note is None and self.classifier.reads_words:
            words, note = words_or_note(start_reading(analysis.image, self.classifier.threads))
            analysis = replace(analysis, words=words, words_note=note)
        return self.answer(analysis, title, year, read_words, top_k, genre, boxes_open).values(
            bool(read_words) and self.classifier.reads_words)

    def answer(self, shown: Analysis, title: str, year: str, read_words: bool, top_k: int, genre: str | None,
               boxes_open: bool = False) -> PageAnswer:
        """The page's answer for one poster's analysis with a title and year (either may be empty) and, when
        `read_words`, the words read on it (their boxes drawn only while `boxes_open`)."""
        poster_only = with_text(self.classifier, shown, NO_TEXT, use_words=False)
        with_words = with_text(self.classifier, poster_only, NO_TEXT, use_words=bool(read_words))
        try:
            analysis = with_text(self.classifier, poster_only, TextInput.of(title, year), use_words=bool(read_words))
        except TextInputError as error:
            analysis = with_words
            changed = f"**Title and year not used:** {error} The answer is without them."
        else:
            changed = self.changed_markdown(poster_only, with_words, analysis)
        words = words_markdown(analysis, "words" in analysis.text.inputs) if read_words else ""
        boxes = words_overlay(analysis) if read_words and boxes_open else None
        return PageAnswer(analysis, self.bars(analysis, top_k), self.tags_line(analysis), changed, words,
                          *self.heat_view(analysis, genre), boxes, (title, year))

    def tags_line(self, analysis: Analysis) -> str:
        return tags_markdown(answer(self.classifier, analysis, 1))

    def bars(self, analysis: Analysis, top_k: int) -> dict[str, float]:
        """The page's bars: the top_k genres, and every tagged genre beyond them, each named with what its tag means
        (`bar_name`)."""
        mode = analysis.text.mode
        thresholds, status = self.classifier.thresholds(mode), self.classifier.tag_status(mode)
        shown = max(int(top_k), len(self.classifier.tags(analysis.probabilities, mode)))
        return {bar_name(p.label, thresholds[p.label], status.get(p.label, {})): round(p.confidence, 4)
                for p in self.classifier.rank(analysis.probabilities, shown)}

    def changed_markdown(self, poster_only: Analysis, with_words: Analysis, analysis: Analysis) -> str:
        """Poster alone against poster with the words, and with the words, title and year: the top genres and
        tags of each step that changed something."""
        if analysis.text.mode is None:
            return ""

        def summary(item: Analysis) -> str:
            tagging = answer(self.classifier, item, 3)
            top = ", ".join(f"{p.label} {p.confidence:.0%}" for p in tagging.ranked)
            return f"{top}; tags: {', '.join(tagging.genres) or 'none'}"

        given = given_inputs(analysis)
        steps = [with_words] if with_words.text.mode and with_words.text.mode != analysis.text.mode else []
        lines = [f"- With the {given_inputs(step)}: {summary(step)}" for step in [*steps, analysis]]
        return "\n".join([f"**What the {given} changed**\n", f"- Poster alone: {summary(poster_only)}", *lines])

    def show_boxes(self, analysis: Analysis | None, read_words: bool) -> tuple[bool, Image.Image | None]:
        """On opening "Where the words are": the boxes of the words read on the shown poster. They are drawn only on
        request, since encoding the picture with every answer costs answer time."""
        return True, words_overlay(analysis) if analysis is not None and read_words else None

    def hide_boxes(self) -> tuple[bool, None]:
        return False, None

    def rerank(self, analysis: Analysis | None, top_k: int) -> dict[str, float] | None:
        return None if analysis is None else self.bars(analysis, top_k)

    def reheat(self, analysis: Analysis | None, genre: str | None) -> tuple[str, Image.Image | None]:
        return ("", None) if analysis is None else self.heat_view(analysis, genre)

    def predict(self, poster: FileData, top_k: int | None = None, title: str | None = None,
                year: int | str | None = None, read_words: bool = True) -> dict[str, float]:
        """Genres of a movie poster with their probabilities, most likely first (every genre by default); the
        film's title and year, when given, and the words printed on the poster (`read_words`, when the model has a
        words model) are combined with the poster."""
        top_k = sent_top_k(top_k, len(self.labels))
        ranked = answer(self.classifier, self.analysis(poster, title, year, read_words), top_k).ranked
        return {p.label: round(p.confidence, 4) for p in ranked}

    def tags(self, poster: FileData, title: str | None = None, year: int | str | None = None,
             read_words: bool = True) -> dict:
        """The poster's record, as the CLI writes it (`poster_genre.answer.Tagging.to_dict`): every genre ranked in
        `labels` with its confidence and threshold, the tag set (`genres`, possibly empty), whether a person should
        check it (`needs_review`: the top confidence is below 0.5, or the image is not like a film poster;
        `review_reason` says which), what the answer rests on (`inputs`), the words read on the poster (`words`,
        when read) or why the words asked for were not used (`words_note`). The film's title and year, when given,
        and the words (`read_words`, when the model has a words model) are combined with the poster."""
        return answer(self.classifier, self.analysis(poster, title, year, read_words)).to_dict()

    def explain(self, poster: FileData, genre: str | None = None) -> tuple[FileData, str, float]:
        """The poster with a heatmap of what speaks for `genre` (default: the most likely genre), as a PNG, the
        genre shown and the poster's probability of it."""
        path = uploaded_path(poster)
        with refusing(), self.gate.single():
            shown = explain_poster(self.classifier, path, genre or None)
        target = self.overlays / f"{hashlib.sha256(f'{path}|{genre}'.encode()).hexdigest()[:24]}.png"
        shown.overlay.save(target)  # the upload's path names its content, so a repeated request rewrites one file
        return FileData(path=str(target)), shown.genre, round(shown.probability, 4)

    def analysis(self, poster: FileData, title: object, year: object, read_words: object) -> Analysis:
        """The API's analysis of one poster; words asked for that cannot be read here are said in `words_note`."""
        path = uploaded_path(poster)
        problem = self.classifier.words_problem() if sent_read_words(read_words) else None
        with refusing(), self.gate.single():
            analysis = analyse(self.classifier, path, TextInput.of(title, year), read_words and problem is None)
        return replace(analysis, words_note=f"The words are not read on this server: {problem}.") if problem else \
            analysis

    def heat_view(self, analysis: Analysis, genre: str | None) -> tuple[str, Image.Image | None]:
        """The heatmap's caption and picture; a genre the model does not serve leaves the heatmap out, saying so,
        and the rest of the answer stands."""
        if analysis.maps is None:
            return "", None
        try:
            shown = heat(self.classifier, analysis, genre or None)  # "" (the dropdown's "most likely") means None
        except UnknownGenreError:
            return f"No heatmap for {genre!r}: choose one of the genres listed.", None
        caption = f"Heat for **{shown.genre}**: {shown.probability:.0%} from the poster alone"
        if analysis.text.mode:
            given = given_inputs(analysis)
            caption += (f" ({shown.answer:.0%} with the {given}). The heat is the poster's own evidence: the {given} "
                        "do not change it.")
        return caption, shown.overlay
