"""The model card: what export writes into the ONNX metadata and the app and CLI read back."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

SINGLE_LABEL = "single-label"  # softmax over the genres: one genre per poster (version 1)
MULTI_LABEL = "multi-label"  # one sigmoid per genre, tagged at per-genre thresholds (version 2)
TEXT_FIELDS = ("backbone", "version", "created", "resize_policy", "kind", "precision", "serving_rule")
ALL_GENRES = "imdb_all_genres"  # figures over every genre of a model with more than the five (IMDb posters)
PRECISIONS = ("fp32", "int8")


CARD_SOURCES = ("all", "imdb", "tmdb", "tmdb_v1", ALL_GENRES)  # the per-source figures a card keeps


@dataclass(frozen=True)
class SourceFigures:
    """One model's figures on one source's validation posters, as a card keeps them (None: not measured)."""

    posters: int | None = None
    mAP: float | None = None
    top1_in_genres: float | None = None
    sample_f1: float | None = None
    ece: float | None = None  # expected calibration error over all (poster, genre) pairs
    accuracy: float | None = None  # version 1's TMDB posters: the most likely genre against the collected one
    macro_f1: float | None = None
    top2_accuracy: float | None = None
    average_precision: dict = field(default_factory=dict)  # genre -> AP
    per_genre: dict = field(default_factory=dict)  # genre -> precision, recall, f1, support, base_rate
    selective: list = field(default_factory=list)  # trusting only top confidences >= threshold

    @classmethod
    def of(cls, figures: dict) -> "SourceFigures":
        return cls(**{k: v for k, v in figures.items() if k in cls.__dataclass_fields__})


def headline(figures: dict) -> dict:
    """The figures a card carries of one model's report section: per source, without the calibration bins."""
    out = {}
    for source in CARD_SOURCES:
        if source in figures:
            out[source] = {k: v for k, v in figures[source].items() if k not in ("calibration", "confusion_matrix")}
            if "calibration" in figures[source]:
                out[source]["ece"] = figures[source]["calibration"]["ece"]
    return out


def text_summary(text: dict) -> dict:
    """What a card says of the title and year model: how it was made, each mode against the poster alone."""
    if not text:
        return {}
    return {"model": text["model"], "threshold_rule": text["threshold_rule"],
            "posters": text["validation_posters_with_title_and_year"],
            "modes": {mode: {source: {k: v for k, v in figures.items() if k != "average_precision"}
                             for source, figures in sources.items()} for mode, sources in text["modes"].items()},
            "versus_poster": text["versus_poster"], "moved_most": text["moved_most"]}


@dataclass(frozen=True)
class ModelCard:
    labels: tuple[str, ...]
    input_size: tuple[int, int]  # (height, width)
    backbone: str = "unknown"
    version: str = "unknown"  # the poster-genre version that exported the model
    created: str = ""
    resize_policy: str = ""
    kind: str = SINGLE_LABEL  # models without this field are version 1's single-label ones
    thresholds: dict = field(default_factory=dict)  # genre -> decision threshold (multi-label)
    data: dict = field(default_factory=dict)  # poster counts of the training run
    metrics: dict = field(default_factory=dict)  # validation metrics of the fine-tuned model
    probe: dict = field(default_factory=dict)  # validation metrics of the linear probe
    baseline: dict = field(default_factory=dict)  # the previous model's metrics on the same posters
    precision: str = "fp32"  # arithmetic of the served graph: fp32, or int8 (static QDQ, from export.quantize)
    quantization: dict = field(default_factory=dict)  # int8 only: the recipe and what it cost against fp32
    candidates: list = field(default_factory=list)  # every genre the run learned, with the serving rule applied
    serving_rule: str = ""  # which candidate genres are served
    versus_baseline: dict = field(default_factory=dict)  # paired bootstrap against the previous model
    learning_curve: list = field(default_factory=list)  # the probe's mAP against the training films it saw
    text: dict = field(default_factory=dict)  # the title and year model beside it: how made, what it adds

    def __post_init__(self) -> None:
        if self.kind not in (SINGLE_LABEL, MULTI_LABEL):
            raise ValueError(f"Unknown model kind {self.kind!r}; expected {SINGLE_LABEL} or {MULTI_LABEL}.")
        if self.precision not in PRECISIONS:
            raise ValueError(f"Unknown precision {self.precision!r}; expected one of {', '.join(PRECISIONS)}.")
        if self.kind == MULTI_LABEL and set(self.thresholds) != set(self.labels):
            raise ValueError("A multi-label model card needs one threshold per label.")

    @property
    def multi_label(self) -> bool:
        return self.kind == MULTI_LABEL

    @classmethod
    def from_report(cls, report: dict, version: str = "unknown", created: str = "", resize_policy: str = ""
                    ) -> "ModelCard":
        """The card of a training report (reports/metrics.json): the one place that reads the report's keys."""
        baseline = report.get("baseline", {})
        return cls(
            labels=tuple(report["labels"]), input_size=tuple(report["input_size"]), backbone=report["backbone"],
            version=version, created=created, resize_policy=resize_policy, kind=report.get("kind", SINGLE_LABEL),
            thresholds=report.get("thresholds", {}), data=report["data"], metrics=headline(report["validation"]),
            probe=headline(report["probe"]),
            baseline={"model": baseline.get("model"), "version": baseline.get("version"), "kind": baseline.get("kind"),
                      **headline(baseline)} if baseline else {},
            candidates=report.get("candidates", []), serving_rule=report.get("serving_rule", ""),
            versus_baseline=report.get("versus_baseline", {}), learning_curve=report.get("learning_curve", []),
            text=text_summary(report.get("text", {})))

    def figures(self, part: str = "metrics") -> dict[str, SourceFigures]:
        """Per source, the figures of this model ("metrics"), its linear probe ("probe") or the previous model
        ("baseline"); version 1's cards hold its TMDB figures without a source."""
        figures = getattr(self, part)
        if figures and "all" not in figures:
            figures = {"tmdb_v1": figures}
        return {source: SourceFigures.of(f) for source, f in figures.items() if source in CARD_SOURCES}

    def with_precision(self, precision: str, quantization: dict) -> "ModelCard":
        """This card for a copy of the model in another arithmetic (the figures stay fp32's)."""
        return replace(self, precision=precision, quantization=quantization)

    def markdown(self) -> str:
        """This card as Markdown: what the app's *About the model* shows."""
        return "\n\n".join(part for part in (
            summary_markdown(self), precision_markdown(self), figures_markdown(self), genres_markdown(self),
            candidates_markdown(self), versus_markdown(self), curve_markdown(self), text_markdown(self),
            selective_markdown(self)) if part)

    def to_metadata(self) -> dict[str, str]:
        """ONNX metadata_props: every field as a string, JSON where it is not one."""
        return {key: value if isinstance(value, str) else json.dumps(value)
                for key, value in asdict(self).items()}

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> "ModelCard":
        """Read a card back from ONNX metadata; labels and input_size are required."""
        missing = {"labels", "input_size"} - metadata.keys()
        if missing:
            raise ValueError(f"The ONNX model has no {', '.join(sorted(missing))} in its metadata.")
        values = {}
        for name in cls.__dataclass_fields__:
            if name in metadata:
                text = metadata[name]
                values[name] = text if name in TEXT_FIELDS else json.loads(text)
        values["labels"] = tuple(values["labels"])
        values["input_size"] = tuple(values["input_size"])
        return cls(**values)


# The card as Markdown, a section per function; a section with nothing to show is empty.

def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "–" if value is None else str(value)


def _table(header: tuple[str, ...], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows])


def model_version(figures: dict) -> str:
    """A model's version as people say it ("v2"): version 1's cards hold their export date instead."""
    version, kind = str(figures.get("version", "")), figures.get("kind", SINGLE_LABEL)
    major = version.split(".")[0]
    if "." in version and major.isdigit():
        return f"v{major}"
    return "v1" if kind == SINGLE_LABEL else version or "unknown version"


def summary_markdown(card: ModelCard) -> str:
    data = card.data
    sources = ", ".join(f"{n} {s}" for s, n in data.get("train_counts", {}).get("by_source", {}).items())
    tagging = ("each genre has its own probability (they need not sum to 1); a genre is a tag at or above "
               "its threshold" if card.multi_label else "the probabilities sum to 1; the tag is the most likely genre")
    return (f"**Backbone** {card.backbone} · **input** {card.input_size[0]}×{card.input_size[1]} px (height×width), "
            f"{card.resize_policy} · **kind** {card.kind}: {tagging} · **version** {card.version} · "
            f"**genres** ({len(card.labels)}) {', '.join(card.labels)}\n\n"
            f"**Data** {data.get('posters', '?')} posters: {data.get('train', '?')} for training"
            f"{f' ({sources})' if sources else ''}, {data.get('val', '?')} held out for validation "
            f"(no film on both sides).")


def precision_markdown(card: ModelCard) -> str:
    """Which arithmetic is served and, for int8, what it cost against fp32 (the figures below are fp32's)."""
    if card.precision != "int8":
        return "**Precision** fp32."
    cost, worst = card.quantization, card.quantization.get("worst_draw_vs_fp32", {})
    return (f"**Precision** int8 (static, per-channel; head in float): {cost.get('speedup', '?')}× faster than fp32 "
            f"and {cost.get('size_mb', '?')} MB instead of {cost.get('fp32_size_mb', '?')} MB. Against fp32 on the "
            f"validation films, worst of {cost.get('draws', '?')} calibration draws: IMDb mAP "
            f"{worst.get('imdb_mAP', 0):+.4f}, top-1-in-genres {worst.get('imdb_top1_in_genres', 0):+.4f}, "
            f"TMDB accuracy {worst.get('tmdb_accuracy', 0):+.4f}. The figures below are fp32's.")


def _figures_row(name: str, figures: dict[str, SourceFigures]) -> list:
    imdb, tmdb, v1 = (figures.get(source, SourceFigures()) for source in ("imdb", "tmdb", "tmdb_v1"))
    return [name, imdb.mAP, imdb.top1_in_genres, tmdb.mAP, tmdb.top1_in_genres, v1.accuracy, v1.macro_f1]


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
            "model's validation posters. TMDB accuracy and macro-F1 are against the collected genre of version 1's "
            "validation posters.")


def genres_markdown(card: ModelCard) -> str:
    """Per genre and per source: AP, base rate, threshold, precision, recall, F1, films."""
    figures = card.figures()
    parts = []
    for key, title in ((ALL_GENRES, "IMDb validation films, every genre"), ("imdb", "IMDb validation films"),
                       ("tmdb", "TMDB validation posters"), ("tmdb_v1", "TMDB validation posters")):
        source = figures.get(key, SourceFigures())
        if not source.per_genre or (key == "imdb" and ALL_GENRES in figures) or (key == "tmdb_v1" and "imdb" in figures):
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


def _versus(figures: dict) -> str:
    mAP = figures.get("imdb_mAP")
    return f"{mAP['difference']:+.3f} ({mAP['standard_errors_apart']} SE)" if mAP else "–"


def selective_markdown(card: ModelCard) -> str:
    rows = [[f"≥ {r['threshold']:.1f}", f"{r['coverage']:.0%}", f"{r['accuracy']:.1%}"]
            for r in card.figures().get("tmdb_v1", SourceFigures()).selective if r["accuracy"] is not None]
    return ("Trust a tag only above a confidence threshold (version 1's TMDB validation posters):\n\n"
            + _table(("top confidence", "posters kept", "accuracy"), rows)) if rows else ""
