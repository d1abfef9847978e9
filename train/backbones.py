"""The backbone registry: one entry per ImageNet backbone the trainer can fine-tune.

Every backbone takes RGB 0..255 (it normalises internally) and returns its last feature map.
`split` cuts it into a frozen bottom, whose outputs the trainer caches, and a top made of
whole blocks plus the head convolution, which stage 2 fine-tunes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import keras

from train.lite2 import efficientnet_lite2

Weights = str | os.PathLike | None
POOL_LAYER = "pool"  # global pooling of the last feature map: export reads the map at its input
HEAD_LAYER = "genres"  # the dense classifier: export multiplies the map by its kernel for the heatmaps


def _efficientnet_b4(weights: Weights, input_shape: tuple[int, int, int]) -> keras.Model:
    return keras.applications.EfficientNetB4(include_top=False, weights=weights, input_shape=input_shape)


@dataclass(frozen=True)
class Backbone:
    name: str
    input_size: tuple[int, int]  # (height, width) fed to the model
    build: Callable[[Weights, tuple[int, int, int]], keras.Model]
    block_pattern: str  # regex whose first group names the block a layer belongs to

    def create(self, weights: Weights = "imagenet", input_size: tuple[int, int] | None = None) -> keras.Model:
        """The backbone with `weights` ("imagenet", a weights file, or None) at `input_size`."""
        height, width = input_size or self.input_size
        return self.build(weights, (height, width, 3))

    def split(self, model: keras.Model, top_blocks: int, top_name: str = "top") -> tuple[keras.Model, keras.Model]:
        """(bottom, top): top holds the last `top_blocks` blocks and everything after them."""
        ends = block_ends(model, self.block_pattern)
        cut = model.get_layer(ends[-top_blocks - 1]).output
        return keras.Model(model.input, cut, name="bottom"), keras.Model(cut, model.output, name=top_name)


def block_ends(model: keras.Model, pattern: str) -> list[str]:
    """Name of the last layer of each block, in order, for blocks whose layers match `pattern`."""
    last: dict[str, str] = {}
    for layer in model.layers:
        match = re.match(pattern, layer.name)
        if match:
            last[match.group(1)] = layer.name
    return list(last.values())


# Posters are 2:3; both backbones see the whole poster at their native width.
BACKBONES = {
    "efficientnet_b4": Backbone("efficientnet_b4", (570, 380), _efficientnet_b4, r"^(block\d+[a-z])_"),
    "efficientnet_lite2": Backbone(
        "efficientnet_lite2", (390, 260), efficientnet_lite2, r"^(block\d+)_"),
}
