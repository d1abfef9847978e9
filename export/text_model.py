"""The text model as ONNX (`model.text.onnx` beside `model.onnx`), its card in the metadata.

    inputs:  indices int64 [n] (hashed title and year token buckets), values float32 [n] (their normalised counts)
             and, with a words model, word_indices int64 [m], word_values float32 [m] (the words read on the poster)
    outputs: text_logits float32 [genres] = sum_i values_i * W[indices_i] + b
             and, with a words model, words_logits float32 [genres] = sum_j word_values_j * V[word_indices_j] + c

W and V are stored in float16 (2^18 buckets x genres) and cast after the gather. The metadata holds the
genres (the poster model's, in order), the hashing settings, the fusion weights and thresholds of
each mode, and what the text and words models were trained on: everything `poster_genre.text.TextModel` reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from poster_genre.card import TextCard
from poster_genre.text import (
    MODES,
    TEXT_MODES,
    TextInput,
    TextModel,
    features,
    words_features,
)
from train.text import TEXT_ARTIFACT

OPSET = 17


def gather_sum(prefix: str, weights: np.ndarray, bias: np.ndarray, indices: str, values: str, output: str
               ) -> tuple[list, list]:
    """The nodes and initializers of one linear model over hashed tokens: gather its rows, weight, sum, add bias."""
    nodes = [
        helper.make_node("Gather", [f"{prefix}W", indices], [f"{prefix}rows"], axis=0),
        helper.make_node("Cast", [f"{prefix}rows"], [f"{prefix}rows32"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", [values, "axis1"], [f"{prefix}column"]),
        helper.make_node("Mul", [f"{prefix}rows32", f"{prefix}column"], [f"{prefix}weighted"]),
        helper.make_node("ReduceSum", [f"{prefix}weighted", "axis0"], [f"{prefix}summed"], keepdims=0),
        helper.make_node("Add", [f"{prefix}summed", f"{prefix}b"], [output]),
    ]
    return nodes, [numpy_helper.from_array(weights.astype(np.float16), f"{prefix}W"),
                   numpy_helper.from_array(bias.astype(np.float32), f"{prefix}b")]


def text_graph(weights: np.ndarray, bias: np.ndarray, words: tuple[np.ndarray, np.ndarray] | None = None
               ) -> onnx.ModelProto:
    """The gather-and-sum graph of the title and year model, and of the words model when given."""
    nodes, initializers = gather_sum("", weights, bias, "indices", "values", "text_logits")
    inputs = [helper.make_tensor_value_info("indices", TensorProto.INT64, ["n"]),
              helper.make_tensor_value_info("values", TensorProto.FLOAT, ["n"])]
    outputs = [helper.make_tensor_value_info("text_logits", TensorProto.FLOAT, [weights.shape[1]])]
    if words is not None:
        more_nodes, more = gather_sum("words_", *words, "word_indices", "word_values", "words_logits")
        nodes, initializers = nodes + more_nodes, initializers + more
        inputs += [helper.make_tensor_value_info("word_indices", TensorProto.INT64, ["m"]),
                   helper.make_tensor_value_info("word_values", TensorProto.FLOAT, ["m"])]
        outputs.append(helper.make_tensor_value_info("words_logits", TensorProto.FLOAT, [weights.shape[1]]))
    initializers += [numpy_helper.from_array(np.array([1], np.int64), "axis1"),
                     numpy_helper.from_array(np.array([0], np.int64), "axis0")]
    graph = helper.make_graph(nodes, "poster_genre_text", inputs, outputs, initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def export_text_model(run_dir: Path, report: dict, output: Path) -> Path:
    """Write the text model of a training run (its `text_model.npz` and report) to `output`, and check that
    onnxruntime reproduces the training weights on a few titles (and words)."""
    saved = np.load(run_dir / TEXT_ARTIFACT)
    words = (saved["words_weights"], saved["words_bias"]) if "words_weights" in saved else None
    model = text_graph(saved["weights"], saved["bias"], words)
    modes = MODES if words is not None else TEXT_MODES
    card = TextCard.from_report(report, {mode: saved[f"fusion_{mode}"].tolist() for mode in modes})
    for key, value in card.to_metadata().items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(output))
    check(TextModel(output), (saved["weights"].astype(np.float32), saved["bias"]),
          None if words is None else (words[0].astype(np.float32), words[1]))
    return output


def check(model: TextModel, text: tuple[np.ndarray, np.ndarray], words: tuple[np.ndarray, np.ndarray] | None
          ) -> None:
    """onnxruntime's logits against the weights' own, on a few titles, years and words."""
    samples = (TextInput("Kill Zone", 1993, ("JEAN-CLAUDE VAN DAMME", "NO MERCY")), TextInput("A Christmas Wedding"),
               TextInput(year=1950))
    for sample in samples:
        indices, values = features(sample, model.buckets)
        got_text, got_words = model.logits(sample)
        wrong = np.abs(got_text - (values @ text[0][indices] + text[1])).max() > 1e-4
        if words is not None:
            indices, values = words_features(sample.words, model.buckets)
            wrong |= np.abs(got_words - (values @ words[0][indices] + words[1])).max() > 1e-4
        if wrong:
            raise RuntimeError(f"The ONNX text model disagrees with its weights on {sample}.")
