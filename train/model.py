"""The model's trainable parts: the head, the masked loss and its validation callback, and `fit`.

One sigmoid per candidate genre, binary cross-entropy with label smoothing (a missing IMDb genre is weak evidence:
lists are capped at three and two public copies disagree on 12% of films). A TMDB poster carries only the genres
it was collected under, so its genres beyond the five are unknown (-1): a poster's loss is the mean over the
genres whose label is known, and unknown ones give no gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from train.backbones import HEAD_LAYER, POOL_LAYER
from train.config import TrainConfig
from train.metrics import masked_map


def masked_binary_crossentropy(smoothing: float):
    """Binary cross-entropy with label smoothing, averaged over each poster's known genres (y >= 0)."""
    def loss(y_true, y_pred):
        known = keras.ops.cast(y_true >= 0, y_pred.dtype)
        target = keras.ops.maximum(y_true, 0.0) * (1 - smoothing) + 0.5 * smoothing
        p = keras.ops.clip(y_pred, 1e-7, 1 - 1e-7)
        bce = -(target * keras.ops.log(p) + (1 - target) * keras.ops.log(1 - p))
        return keras.ops.sum(bce * known, axis=-1) / keras.ops.maximum(keras.ops.sum(known, axis=-1), 1.0)
    return loss


class MaskedValidation(keras.callbacks.Callback):
    """After each epoch, validation loss and mAP over the known labels, logged as val_loss and val_mAP."""

    def __init__(self, x: np.ndarray, y: np.ndarray, smoothing: float, batch_size: int):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.loss = masked_binary_crossentropy(smoothing)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        probs = self.model.predict(self.x, batch_size=self.batch_size, verbose=0)
        logs = logs if logs is not None else {}
        logs["val_loss"] = float(np.mean(keras.ops.convert_to_numpy(self.loss(self.y, probs))))
        logs["val_mAP"] = masked_map(self.y, probs)


def fit(model: keras.Model, x, y, x_val, y_val, lr: float, epochs: int, config: TrainConfig, patience: int,
        verbose: int = 2) -> dict:
    """Adam on the masked loss, early stopping on validation mAP over the known labels (ranking is what tags
    rest on: the validation loss rises with confidence while mAP still improves).

    verbose=1 draws a progress bar within each epoch (for the long stage 2), 2 one line per epoch."""
    model.compile(keras.optimizers.Adam(lr), masked_binary_crossentropy(config.label_smoothing))
    callbacks = [MaskedValidation(x_val, y_val, config.label_smoothing, 64),
                 keras.callbacks.EarlyStopping("val_mAP", mode="max", patience=patience, restore_best_weights=True)]
    history = model.fit(x, y, batch_size=config.batch_size, epochs=epochs, callbacks=callbacks, verbose=verbose,
                        shuffle=True)
    return {k: [round(float(v), 5) for v in values] for k, values in history.history.items()}


def best_epochs(history: dict) -> int:
    """How many epochs early stopping kept (the best validation mAP's)."""
    return int(np.argmax(history["val_mAP"])) + 1


def probe_model(features: int, genres: int, dropout: float) -> keras.Model:
    """A linear probe on pooled features: dropout and one sigmoid per genre."""
    return keras.Sequential([keras.Input((features,)), keras.layers.Dropout(dropout),
                             keras.layers.Dense(genres, activation="sigmoid")])


@dataclass
class Head:
    """Pooling, dropout and the dense classifier: shared by the probe, the fine-tuned top and the whole model."""

    pool: keras.layers.Layer
    dropout: keras.layers.Layer
    dense: keras.layers.Dense

    @classmethod
    def create(cls, config: TrainConfig, genres: int) -> Head:
        return cls(keras.layers.GlobalAveragePooling2D(name=POOL_LAYER),
                   keras.layers.Dropout(config.dropout, name="dropout"),
                   keras.layers.Dense(genres, activation="sigmoid", name=HEAD_LAYER))

    def on(self, feature_map, dense: keras.layers.Dense | None = None):
        return (dense or self.dense)(self.dropout(self.pool(feature_map)))
