"""The Keras EfficientNet-Lite2 with ported weights matches the PyTorch reference."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
pytest.importorskip("efficientnet_lite_pytorch", reason="efficientnet-lite-pytorch is not installed")

from train.lite2 import efficientnet_lite2, load_reference, port

pytestmark = pytest.mark.training


def test_ported_backbone_matches_reference(tmp_path, sample_poster):
    from poster_genre.preprocess import preprocess

    weights = port(tmp_path)
    keras_model = efficientnet_lite2(weights, input_shape=(260, 260, 3))
    x = np.stack([preprocess(sample_poster, (260, 260)),
                  np.random.default_rng(0).uniform(0, 255, (260, 260, 3)).astype(np.float32)])
    with torch.no_grad():
        reference = load_reference().extract_features(
            torch.from_numpy(((x - 127.0) / 128.0).transpose(0, 3, 1, 2).copy())).numpy()
    features = keras_model.predict(x, verbose=0)
    assert features.shape == (2, 9, 9, 1280)
    assert np.abs(features - reference.transpose(0, 2, 3, 1)).max() < 1e-3
