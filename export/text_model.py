"""The text model as ONNX (`model.text.onnx` beside `model.onnx`), its card in the metadata.

    inputs:  indices int64 [n] (hashed token buckets), values float32 [n] (their normalised counts)
    output:  text_logits float32 [genres] = sum_i values_i * W[indices_i] + b

W is stored in float16 (2^18 buckets x genres) and cast after the gather. The metadata holds the
genres (the poster model's, in order), the hashing settings, the fusion weights and thresholds of
each mode, and what the text model was trained on: everything `poster_genre.text.TextModel` reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from poster_genre.card import TextCard
from poster_genre.text import MODES, TextModel
from train.text import TEXT_ARTIFACT

OPSET = 17


def text_graph(weights: np.ndarray, bias: np.ndarray) -> onnx.ModelProto:
    """The gather-and-sum graph of a linear model over hashed tokens."""
    nodes = [
        helper.make_node("Gather", ["W", "indices"], ["rows"], axis=0),
        helper.make_node("Cast", ["rows"], ["rows32"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["values", "axis1"], ["column"]),
        helper.make_node("Mul", ["rows32", "column"], ["weighted"]),
        helper.make_node("ReduceSum", ["weighted", "axis0"], ["summed"], keepdims=0),
        helper.make_node("Add", ["summed", "b"], ["text_logits"]),
    ]
    initializers = [numpy_helper.from_array(weights.astype(np.float16), "W"),
                    numpy_helper.from_array(bias.astype(np.float32), "b"),
                    numpy_helper.from_array(np.array([1], np.int64), "axis1"),
                    numpy_helper.from_array(np.array([0], np.int64), "axis0")]
    graph = helper.make_graph(
        nodes, "poster_genre_text", [helper.make_tensor_value_info("indices", TensorProto.INT64, ["n"]),
                                     helper.make_tensor_value_info("values", TensorProto.FLOAT, ["n"])],
        [helper.make_tensor_value_info("text_logits", TensorProto.FLOAT, [weights.shape[1]])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def export_text_model(run_dir: Path, report: dict, output: Path) -> Path:
    """Write the text model of a training run (its `text_model.npz` and report) to `output`, and check that
    onnxruntime reproduces the training weights on a few titles."""
    saved = np.load(run_dir / TEXT_ARTIFACT)
    model = text_graph(saved["weights"], saved["bias"])
    card = TextCard.from_report(report, {mode: saved[f"fusion_{mode}"].tolist() for mode in MODES})
    for key, value in card.to_metadata().items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(output))
    check(TextModel(output), saved["weights"].astype(np.float32), saved["bias"])
    return output


def check(model: TextModel, weights: np.ndarray, bias: np.ndarray) -> None:
    from poster_genre.text import TextInput, features

    for text in (TextInput("Kill Zone", 1993), TextInput("A Christmas Wedding"), TextInput(year=1950)):
        indices, values = features(text, model.buckets)
        expected = values @ weights[indices] + bias
        if np.abs(model.logits(text) - expected).max() > 1e-4:
            raise RuntimeError(f"The ONNX text model disagrees with its weights on {text}.")
