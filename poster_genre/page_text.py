"""The page's words: the tag line, each bar's name, the legend, the words read on the poster, what the other inputs
added. Plain functions of an answer, for `poster_genre.page`'s handlers."""

from __future__ import annotations

from poster_genre.analysis import Analysis
from poster_genre.answer import Tagging


def tags_markdown(tagging: Tagging) -> str:
    """The tag set as chips; when it is empty, the most likely genre as a hint; then why to check the image."""
    if tagging.genres:
        line = "**Tags:** " + " ".join(f'<span class="tag-chip">{tag}</span>' for tag in tagging.genres)
    else:
        line = f"**No confident genre.** Most likely: {tagging.top.label} ({tagging.top.confidence:.0%})."
    unlike = [reason for reason in tagging.review_reasons if not reason.startswith("unsure")]
    return line + (f"\n\n**Check this image:** {'; '.join(unlike)}." if unlike else "")


def bar_name(genre: str, threshold: float | None, status: dict) -> str:
    """A genre's name on the page's bars, with what a tag of it means: its threshold and how often its tags were
    right on the validation films, or that it is a probability only."""
    if threshold is None:
        return f"{genre} · probability only"
    right = f", right {status['precision']:.0%}" if "precision" in status else ""
    return f"{genre} · tag from {threshold:.0%}{right}"


LEGEND = ("A genre is **tagged** when its probability reaches its threshold (*tag from 40%*); *right 62%*: tags of "
          "that genre were right 62% of the time on the validation films (a genre is tagged only where its tags "
          "were right at least half the time). *Probability only*: its tags were not right often enough, so it "
          "is never tagged; its probability is still shown.")


def words_markdown(analysis: Analysis, used: bool) -> str:
    """The words read on the poster, and whether the answer used them (empty when they were not read)."""
    if analysis.words_note:
        return f"**Words on the poster:** {analysis.words_note}"
    if analysis.words is None:
        return ""
    if not analysis.words:
        return "**Words on the poster:** no text found on it; the answer rests on the rest."
    said = " · ".join(f"`{text}`" for text in analysis.read_texts)
    return f"**Words read on the poster{'' if used else ' (not used)'}:** {said}"


def given_inputs(analysis: Analysis) -> str:
    """What the answer rests on besides the poster, in words: "words, title and year"."""
    given = analysis.text.inputs[1:]
    return given[0] if len(given) == 1 else f"{', '.join(given[:-1])} and {given[-1]}"
