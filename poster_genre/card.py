"""The model card: what export writes into the ONNX metadata and the app and CLI read back."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

MULTI_LABEL = "multi-label"  # one sigmoid per genre, tagged at per-genre thresholds: the only kind served
TEXT_FIELDS = ("backbone", "version", "created", "resize_policy", "kind", "serving_rule", "tag_rule")
IMDB_EVERY_GENRE = "imdb_all_genres"  # figures over every genre of a model with more than the five (IMDb posters)


COLLECTED_GENRE = "tmdb_collected"  # the TMDB validation posters against the one genre each was collected under
CARD_SOURCES = ("all", "imdb", "tmdb", COLLECTED_GENRE, IMDB_EVERY_GENRE)  # the per-source figures a card keeps
FIGURE_PARTS = ("metrics", "probe", "baseline")  # the card's fields that hold figures per source
FORMER_SOURCE_NAMES = {"tmdb_v1": COLLECTED_GENRE}  # a source's name in the cards of models exported before it


@dataclass(frozen=True)
class SourceFigures:
    """One model's figures on one source's validation posters, as a card keeps them (None: not measured)."""

    posters: int | None = None
    mAP: float | None = None
    top1_in_genres: float | None = None
    sample_f1: float | None = None
    ece: float | None = None  # expected calibration error over all (poster, genre) pairs
    accuracy: float | None = None  # the collected-genre posters: the most likely genre against the collected one
    macro_f1: float | None = None
    top2_accuracy: float | None = None
    average_precision: dict = field(default_factory=dict)  # genre -> AP
    per_genre: dict = field(default_factory=dict)  # genre -> precision, recall, f1, support, base_rate
    selective: list = field(default_factory=list)  # trusting only top confidences >= threshold

    @classmethod
    def of(cls, figures: dict) -> SourceFigures:
        return cls(**{k: v for k, v in figures.items() if k in cls.__dataclass_fields__})


def card_figures(figures: dict) -> dict:
    """The figures a card carries of one model's report section: per source, without the calibration bins."""
    out = {}
    for source in CARD_SOURCES:
        if source in figures:
            out[source] = {k: v for k, v in figures[source].items() if k not in ("calibration", "confusion_matrix")}
            if "calibration" in figures[source]:
                out[source]["ece"] = figures[source]["calibration"]["ece"]
    return out


def text_summary(text: dict) -> dict:
    """What a card says of the title and year model and of the words model: how they were made, each mode against the
    poster alone (and each words mode against the same mode without the words), the words that moved answers most."""
    if not text:
        return {}
    return {"model": text["model"], "threshold_rule": text["threshold_rule"],
            "posters": text["validation_posters_with_title_and_year"],
            "modes": {mode: {source: {k: v for k, v in figures.items() if k != "average_precision"}
                             for source, figures in sources.items()} for mode, sources in text["modes"].items()},
            "versus_poster": text["versus_poster"], "moved_most": text["moved_most"],
            **{key: text[key] for key in ("words_model", "versus_poster_title_year", "words_moved_most") if key in text}}


@dataclass(frozen=True)
class ModelCard:
    labels: tuple[str, ...]
    input_size: tuple[int, int]  # (height, width)
    backbone: str = "unknown"
    version: str = "unknown"  # the poster-genre version that exported the model
    created: str = ""
    resize_policy: str = ""
    kind: str = MULTI_LABEL  # a card without a kind is refused: it has no per-genre thresholds
    thresholds: dict = field(default_factory=dict)  # genre -> decision threshold (multi-label)
    data: dict = field(default_factory=dict)  # poster counts of the training run
    metrics: dict = field(default_factory=dict)  # validation metrics of the fine-tuned model
    probe: dict = field(default_factory=dict)  # validation metrics of the linear probe
    baseline: dict = field(default_factory=dict)  # the previous model's metrics on the same posters
    candidates: list = field(default_factory=list)  # every genre the run learned, with the serving rule applied
    serving_rule: str = ""  # which candidate genres are served
    versus_baseline: dict = field(default_factory=dict)  # paired bootstrap against the previous model
    learning_curve: list = field(default_factory=list)  # the probe's mAP against the training films it saw
    text: dict = field(default_factory=dict)  # the title and year model beside it: how made, what it adds
    tag_rule: str = ""  # when a genre is tagged (`poster_genre.rules.TAG_RULE`)
    tag_status: dict = field(default_factory=dict)  # genre -> tagged or a probability only, precision interval
    review: dict = field(default_factory=dict)  # the review rule, its image limits, how many posters it flags
    prior: dict = field(default_factory=dict)  # the genre rates the model assumes, and its logit shift
    members: list = field(default_factory=list)  # the ensemble's members, each alone against the ensemble

    def __post_init__(self) -> None:
        if self.kind != MULTI_LABEL:
            raise ValueError(f"A {self.kind} model is not served: poster-genre serves {MULTI_LABEL} models (one "
                             "probability per genre, each with its threshold).")
        if set(self.thresholds) != set(self.labels):
            raise ValueError("A model card needs one threshold per label.")

    @classmethod
    def from_report(cls, report: dict, version: str = "unknown", created: str = "", resize_policy: str = ""
                    ) -> ModelCard:
        """The card of a training report (reports/metrics.json): the one place that reads the report's keys."""
        baseline = report.get("baseline", {})
        return cls(
            labels=tuple(report["labels"]), input_size=tuple(report["input_size"]), backbone=report["backbone"],
            version=version, created=created, resize_policy=resize_policy, kind=report.get("kind", MULTI_LABEL),
            thresholds=report.get("thresholds", {}), data=report["data"], metrics=card_figures(report["validation"]),
            probe=card_figures(report["probe"]),
            baseline={"model": baseline.get("model"), "version": baseline.get("version"), "kind": baseline.get("kind"),
                      **card_figures(baseline)} if baseline else {},
            candidates=report.get("candidates", []), serving_rule=report.get("serving_rule", ""),
            versus_baseline=report.get("versus_baseline", {}), learning_curve=report.get("learning_curve", []),
            text=text_summary(report.get("text", {})), tag_rule=report.get("threshold_rule", ""),
            tag_status=report.get("tag_status", {}), prior=report.get("prior", {}),
            members=[{k: v for k, v in m.items() if k != "history"} for m in report.get("members", [])])

    def figures(self, part: str = "metrics") -> dict[str, SourceFigures]:
        """Per source, the figures of this model ("metrics"), its linear probe ("probe") or the previous model
        ("baseline")."""
        figures = getattr(self, part)
        return {source: SourceFigures.of(f) for source, f in figures.items() if source in CARD_SOURCES}

    def to_metadata(self) -> dict[str, str]:
        """ONNX metadata_props: every field as a string, JSON where it is not one."""
        return {key: value if isinstance(value, str) else json.dumps(value)
                for key, value in asdict(self).items()}

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> ModelCard:
        """Read a card back from ONNX metadata; labels and input_size are required."""
        missing = {"labels", "input_size"} - metadata.keys()
        if missing:
            raise ValueError(f"The ONNX model has no {', '.join(sorted(missing))} in its metadata.")
        values = {}
        for name in cls.__dataclass_fields__:
            if name in metadata:
                text = metadata[name]
                values[name] = text if name in TEXT_FIELDS else json.loads(text)
        for part in FIGURE_PARTS:
            if isinstance(values.get(part), dict):
                values[part] = {FORMER_SOURCE_NAMES.get(source, source): f for source, f in values[part].items()}
        values["labels"] = tuple(values["labels"])
        values["input_size"] = tuple(values["input_size"])
        return cls(**values)


@dataclass(frozen=True)
class TextCard:
    """The text model's card (`model.text.onnx`'s metadata: the title-and-year and words models): the poster model's
    genres, in order, the hashing, each mode's fusion weights and thresholds, and how both were trained."""

    labels: tuple[str, ...]
    buckets: int
    fusion: dict  # mode -> (genres, 2 + inputs) weights: poster logit, each text input's logit (title, words), bias
    thresholds: dict  # mode -> genre -> threshold (None: a probability only in that mode)
    model: dict = field(default_factory=dict)  # what it was trained on and how
    tag_status: dict = field(default_factory=dict)  # mode -> genre -> tagged or a probability only, and why

    def to_metadata(self) -> dict[str, str]:
        return {key: json.dumps(value) for key, value in asdict(self).items()}

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> TextCard:
        values = {k: json.loads(v) for k, v in metadata.items() if k in cls.__dataclass_fields__}
        return cls(**{**values, "labels": tuple(values["labels"]), "buckets": int(values["buckets"])})

    @classmethod
    def from_report(cls, report: dict, fusion: dict) -> TextCard:
        """The card of a training report's text model (the one place that reads the report's `text` keys)."""
        text = report["text"]
        return cls(tuple(report["labels"]), text["model"]["buckets"], fusion, text["thresholds"], text["model"],
                   text.get("tag_status", {}))
