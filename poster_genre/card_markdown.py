"""The model card as Markdown, a section per function (a section with nothing to show is empty): what the app's
*About the model* shows."""

from __future__ import annotations

from poster_genre.card import (
    COLLECTED_GENRE,
    IMDB_EVERY_GENRE,
    ModelCard,
    SourceFigures,
)
from poster_genre.rules import MIN_CONFIDENCE


def card_markdown(card: ModelCard) -> str:
    """The whole card as Markdown."""
    return "\n\n".join(part for part in (
        summary_markdown(card), figures_markdown(card), members_markdown(card),
        tag_rule_markdown(card), genres_markdown(card), prior_markdown(card), review_markdown(card),
        candidates_markdown(card), versus_markdown(card), curve_markdown(card), text_markdown(card),
        words_markdown(card), selective_markdown(card)) if part)


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "–" if value is None else str(value)


def _table(header: tuple[str, ...], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows])


def model_version(figures: dict) -> str:
    """A model's version as people say it: "v" and the major number of its package version, else as its card has it."""
    version = str(figures.get("version", ""))
    major = version.split(".")[0]
    return f"v{major}" if "." in version and major.isdigit() else version or "unknown version"


def summary_markdown(card: ModelCard) -> str:
    data = card.data
    sources = ", ".join(f"{n} {s}" for s, n in data.get("train_counts", {}).get("by_source", {}).items())
    tagging = "each genre has its own probability (they need not sum to 1); a genre is a tag at or above its threshold"
    return (f"**Backbone** {card.backbone} · **input** {card.input_size[0]}×{card.input_size[1]} px (height×width), "
            f"{card.resize_policy} · **kind** {card.kind}: {tagging} · **version** {card.version} · "
            f"**genres** ({len(card.labels)}) {', '.join(card.labels)}\n\n"
            f"**Data** {data.get('posters', '?')} posters: {data.get('train', '?')} for training"
            f"{f' ({sources})' if sources else ''}, {data.get('val', '?')} held out for validation "
            f"(no film on both sides).")


def _figures_row(name: str, figures: dict[str, SourceFigures]) -> list:
    imdb, tmdb, collected = (figures.get(source, SourceFigures()) for source in ("imdb", "tmdb", COLLECTED_GENRE))
    return [name, imdb.mAP, imdb.top1_in_genres, tmdb.mAP, tmdb.top1_in_genres, collected.accuracy,
            collected.macro_f1]


def figures_markdown(card: ModelCard) -> str:
    """The headline figures over the five genres: this model, its linear probe, the previous model."""
    rows = [_figures_row("**this model**", card.figures())]
    if card.probe:
        rows.append(_figures_row("linear probe", card.figures("probe")))
    if card.baseline:
        rows.append(_figures_row(f"previous model ({model_version(card.baseline)})", card.figures("baseline")))
    header = ("model", "IMDb mAP", "IMDb top-1-in-genres", "TMDB mAP", "TMDB top-1-in-genres", "TMDB accuracy",
              "TMDB macro-F1")
    return (f"{_table(header, rows)}\n\nOver the five genres Action, Comedy, Drama, Romance and Thriller on this "
            "model's validation posters. TMDB accuracy and macro-F1 are against the genre each TMDB "
            "validation poster was collected under.")


def members_markdown(card: ModelCard) -> str:
    """The ensemble's members, each alone against the ensemble (paired bootstrap, IMDb validation films)."""
    if len(card.members) < 2:
        return ""
    rows = []
    for m in card.members:
        versus = m["ensemble_versus_member"]
        mAP, top1 = versus.get("imdb_mAP", {}), versus.get("imdb_top1_in_genres", {})
        rows.append([f"member {m['member']} (seed {m['seed']}, views {', '.join(map(str, m['views']))})",
                     mAP.get("theirs"), top1.get("theirs"),
                     f"{mAP.get('difference', 0):+.4f} ({mAP.get('standard_errors_apart', '–')} SE)"])
    return (f"**Ensemble** of {len(card.members)} members: one frozen bottom, each member's fine-tuned top blocks and "
            "head; the answer is the mean of their logits, in one graph. Each member alone (five genres):\n\n"
            + _table(("member", "IMDb mAP", "IMDb top-1-in-genres", "ensemble's mAP gain"), rows))


def tag_rule_markdown(card: ModelCard) -> str:
    """The tag rule and each genre's status: tagged (precision and its interval) or a probability only."""
    if not card.tag_status:
        return ""
    rows = []
    for genre in card.labels:
        status = card.tag_status.get(genre, {})
        if status.get("tagged"):
            low, high = status["precision_interval"]
            rows.append([genre, "tag", status["threshold"], f"{status['precision']:.2f} ({low:.2f}–{high:.2f})",
                         status["recall"], status["tags"]])
        else:
            rows.append([genre, "probability only", None, status.get("best_precision"), None, 0])
    return (f"**When a genre is tagged**: {card.tag_rule}.\n\n"
            + _table(("genre", "status", "threshold", "precision (95% interval)", "recall", "tags"), rows))


def prior_markdown(card: ModelCard) -> str:
    """The genre rates the model assumes, and how far its logits moved from its training films'."""
    if not card.prior:
        return ""
    rows = [[g, r["training"], r["stated"], r["logit_shift"]] for g, r in card.prior["genres"].items()
            if g in card.labels]
    return (f"**Prior**: the model assumes {card.prior['assumed']}; each genre's logit is moved from its training "
            "films' rate to that rate (this moves no genre's ranking of posters, only which genre comes first):\n\n"
            + _table(("genre", "training rate", "assumed rate", "logit shift"), rows))


def review_markdown(card: ModelCard) -> str:
    """When an image is flagged as unlike a film poster."""
    review = card.review
    if not review:
        return ""
    return (f"**Needs review**: an answer whose top probability is below {MIN_CONFIDENCE:g} (the CLI's "
            f"`--min-confidence`), or an "
            f"image unlike a film poster: {review['rule']}. Limits: {review['limits']}; "
            f"{review['posters_flagged']} of {review['posters']:,} validation posters are flagged.")


def genres_markdown(card: ModelCard) -> str:
    """Per genre and per source: AP, base rate, threshold, precision, recall, F1, films."""
    figures = card.figures()
    parts = []
    for key, title in ((IMDB_EVERY_GENRE, "IMDb validation films, every genre"), ("imdb", "IMDb validation films"),
                       ("tmdb", "TMDB validation posters")):
        source = figures.get(key, SourceFigures())
        if not source.per_genre or (key == "imdb" and IMDB_EVERY_GENRE in figures):
            continue
        rows = [[g, source.average_precision.get(g), m.get("base_rate"), card.thresholds.get(g),
                 m["precision"], m["recall"], m["f1"], m["support"]] for g, m in source.per_genre.items()]
        parts.append(f"*{title}*\n\n" + _table(("genre", "average precision", "base rate", "threshold", "precision",
                                                "recall", "F1", "films"), rows))
    return "\n\n".join(parts)


def candidates_markdown(card: ModelCard) -> str:
    """Every genre the training run learned, served or not, and the rule that decided."""
    if not card.candidates:
        return ""
    rows = [[c["genre"], c["training_films"], c["validation_films"], c["base_rate"], c["ap"], c["lift"],
             "yes" if c["served"] else "no"] for c in card.candidates]
    return (f"**Genres served**: {card.serving_rule}.\n\n" +
            _table(("genre", "training films", "validation films", "base rate", "AP", "AP / base rate", "served"), rows))


def versus_markdown(card: ModelCard) -> str:
    """This model against the previous one on the posters both validated on: the paired bootstrap."""
    versus = card.versus_baseline
    if not versus:
        return ""
    rows = [[name.replace("_", " "), f["ours"], f["theirs"], f"{f['difference']:+.4f}", f["se_difference"],
             f["standard_errors_apart"]] for name, f in versus.items() if isinstance(f, dict)]
    return (f"Against the previous model on the {versus.get('posters', '?')} validation posters it was measured on "
            "(paired bootstrap over films; more than about two standard errors apart is unlikely to be noise):\n\n"
            + _table(("figure", "this model", "previous", "difference", "SE", "SEs apart"), rows))


def curve_markdown(card: ModelCard) -> str:
    if not card.learning_curve:
        return ""
    rows = [[r["training_films"], r["five_genre_mAP"], r["all_genre_mAP"]] for r in card.learning_curve]
    return ("Learning curve (linear probe on cached features, IMDb validation films):\n\n"
            + _table(("training films", "mAP, five genres", "mAP, every candidate"), rows))


def text_markdown(card: ModelCard) -> str:
    """The title and year: the text model, and each mode against the poster alone on the same posters."""
    text = card.text
    if not text:
        return ""
    model = text["model"]
    rows = [[mode, sources.get("imdb", {}).get("mAP"), sources.get("imdb", {}).get("top1_in_genres"),
             sources.get("imdb", {}).get("sample_f1"), sources.get("imdb", {}).get("ece"),
             sources.get("tmdb", {}).get("mAP"), _versus(text["versus_poster"].get(mode, {}))]
            for mode, sources in text["modes"].items()]
    return (f"**Title and year** (optional): a linear model over character {model['char_ngrams'][0]}-"
            f"{model['char_ngrams'][-1]}-grams and word 1-2-grams of the title and the year's decade "
            f"({model['buckets']:,} hashed buckets, CRC-32), trained on {model['training_films']:,} training films; "
            "a logistic fusion per genre and mode with the poster's logit, fitted on out-of-fold predictions "
            f"of training films; thresholds per mode. On the {text['posters']:,} validation posters with a title "
            "and a year (five genres; the last column is the paired bootstrap against the poster alone):\n\n"
            + _table(("inputs", "IMDb mAP", "IMDb top-1-in-genres", "IMDb sample F1", "IMDb ECE", "TMDB mAP",
                      "IMDb mAP vs poster"), rows))


def words_markdown(card: ModelCard) -> str:
    """The words read on the poster: the words model, what the words can and cannot tell, and the words that moved
    validation answers most."""
    words = card.text.get("words_model") if card.text else None
    if not words:
        return ""
    rows = [[" · ".join(m["words"][:5]), m["genre"], m["poster"], m["with_words"], "yes" if m["carries_it"] else "no"]
            for m in card.text.get("words_moved_most", [])[:6]]
    return (f"**The words on the poster** (optional, on by default where the OCR engine is installed): RapidOCR "
            f"(PP-OCR) reads them; a linear model over {words['tokens']} (hashed like the title), trained on the "
            f"words of {words['training_films_with_words']:,} training films, fused like the title (the *words* "
            f"rows above{_with_title(card.text)}). What the words can tell: a star's name carries the star's usual genres, a tagline or a "
            "studio's name its own. What they cannot: a stylised title is often misread, a poster without text says "
            "nothing, and a star cast against type misleads. The words that moved validation answers most (words "
            "only; the film's own genre list says whether it carries the genre):\n\n"
            + _table(("words read", "genre", "poster alone", "with the words", "film has it"), rows))


def _with_title(text: dict) -> str:
    """The words beside a typed title and year: poster + title + year + words against poster + title + year."""
    versus = text.get("versus_poster_title_year", {}).get("poster+title+year+words", {}).get("imdb_mAP")
    return (f"; with a title and year typed too, the words add {versus['difference']:+.3f} IMDb mAP "
            f"({versus['standard_errors_apart']} SE)") if versus else ""


def _versus(figures: dict) -> str:
    mAP = figures.get("imdb_mAP")
    return f"{mAP['difference']:+.3f} ({mAP['standard_errors_apart']} SE)" if mAP else "–"


def selective_markdown(card: ModelCard) -> str:
    rows = [[f"≥ {r['threshold']:.1f}", f"{r['coverage']:.0%}", f"{r['accuracy']:.1%}"]
            for r in card.figures().get(COLLECTED_GENRE, SourceFigures()).selective if r["accuracy"] is not None]
    return ("Trust a tag only above a confidence threshold (the TMDB validation posters, against their collected genre):\n\n"
            + _table(("top confidence", "posters kept", "accuracy"), rows)) if rows else ""
