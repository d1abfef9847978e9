"""Add the per-genre class activation maps to an exported model as a second ONNX output.

    python -m export.activation_maps model.onnx [--output OUT.onnx]

The head is GlobalAveragePool -> MatMul(W) -> Add(b) -> sigmoid. The maps are the
pooled feature map before pooling, moved to NHWC and multiplied by the same W initializer:
`genre_maps` (batch, h, w, genres), with mean over (h, w) plus b equal to the logits. No weight
is copied and no second model file is made.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import onnx
from onnx import helper

from poster_genre.model import MAPS_OUTPUT


def _consumer(graph: onnx.GraphProto, tensor: str, op_types: tuple[str, ...]) -> onnx.NodeProto:
    for node in graph.node:
        if tensor in node.input and node.op_type in op_types:
            return node
    raise ValueError(f"No {'/'.join(op_types)} node reads {tensor}; is this a poster-genre model?")


def add_activation_maps(model: onnx.ModelProto) -> onnx.ModelProto:
    """Add the `genre_maps` output to `model` (in place) and return it; a no-op if it is there."""
    graph = model.graph
    if MAPS_OUTPUT in {output.name for output in graph.output}:
        return model
    pool = next((n for n in graph.node if n.op_type == "GlobalAveragePool"), None)
    if pool is None:
        raise ValueError("The model has no GlobalAveragePool node; is this a poster-genre model?")
    after = pool.output[0]
    squeeze = _consumer(graph, after, ("Squeeze", "Reshape", "Flatten"))
    matmul = _consumer(graph, squeeze.output[0], ("MatMul",))
    weights = next(i for i in matmul.input if i != squeeze.output[0])
    labels = next(t for t in graph.initializer if t.name == weights).dims[1]
    nhwc = f"{MAPS_OUTPUT}/features_nhwc"
    graph.node.extend([
        helper.make_node("Transpose", [pool.input[0]], [nhwc], name=f"{MAPS_OUTPUT}/Transpose", perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", [nhwc, weights], [MAPS_OUTPUT], name=f"{MAPS_OUTPUT}/MatMul"),
    ])
    graph.output.append(helper.make_tensor_value_info(MAPS_OUTPUT, onnx.TensorProto.FLOAT,
                                                      ["batch", "map_height", "map_width", labels]))
    onnx.checker.check_model(model)
    return model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("--output", type=Path, help="default: overwrite MODEL")
    args = parser.parse_args(argv)
    model = add_activation_maps(onnx.load(str(args.model)))
    onnx.save(model, str(args.output or args.model))
    print(f"wrote {args.output or args.model} with output {MAPS_OUTPUT}")


if __name__ == "__main__":
    main()
