"""The model card: what export writes into the ONNX metadata and the app and CLI read back."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

SINGLE_LABEL = "single-label"  # softmax over the genres: one genre per poster (version 1)
MULTI_LABEL = "multi-label"  # one sigmoid per genre, tagged at per-genre thresholds (version 2)
TEXT_FIELDS = ("backbone", "version", "created", "resize_policy", "kind", "precision")
PRECISIONS = ("fp32", "int8")


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

    def with_precision(self, precision: str, quantization: dict) -> "ModelCard":
        """This card for a copy of the model in another arithmetic (the figures stay fp32's)."""
        return replace(self, precision=precision, quantization=quantization)

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
