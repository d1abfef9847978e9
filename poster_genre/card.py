"""The model card: what export writes into the ONNX metadata and the app reads back."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ModelCard:
    labels: tuple[str, ...]
    input_size: tuple[int, int]  # (height, width)
    backbone: str = "unknown"
    version: str = "unknown"
    resize_policy: str = ""
    data: dict = field(default_factory=dict)  # poster counts of the training run
    metrics: dict = field(default_factory=dict)  # validation metrics of the fine-tuned model
    probe: dict = field(default_factory=dict)  # validation metrics of the linear probe

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
                values[name] = text if name in ("backbone", "version", "resize_policy") else json.loads(text)
        values["labels"] = tuple(values["labels"])
        values["input_size"] = tuple(values["input_size"])
        return cls(**values)
