"""What tells a film poster from a placeholder, a screenshot, noise or a blank: measurements of one model input
that the review rule (`poster_genre.rules.review_reasons`) compares with the validation posters' (the limits in
the model card's `review`, set by `export.review`).

- `flat_share`: the share of the image in its most common colour (16 levels a channel): a blank, or a "no image
  available" placeholder on a plain background, is mostly one colour;
- `colours`: how many of those colours cover 95% of the image: a screenshot of text, a placeholder or a pattern
  uses a handful, a poster dozens to hundreds;
- `detail`: the mean absolute difference between neighbouring pixels (0..255): noise has far more than a poster,
  a blank or nearly blank image far less;
- `edges`: the share of sharp edges (a step of more than EDGE in a channel between neighbours): a poster's title
  and credits are sharp; a blurred photo, a gradient or a blank has none.

The model's own pooled features were measured too (their distance from the validation posters', in their
principal directions) and told these images apart from posters no better than chance, so they are not used.
"""

from __future__ import annotations

import numpy as np

LEVELS = 16  # colour levels a channel when counting colours
COVERED = 0.95  # `colours` counts the most common colours until they cover this share of the image
EDGE = 48  # a step between neighbouring pixels above this (0..255, in any channel) is a sharp edge


def measurements(batch: np.ndarray) -> list[dict[str, float]]:
    """Every measurement the review rule reads, for each image of a model input batch (N, H, W, 3), 0..255."""
    x = np.asarray(batch, np.float32)
    q = (np.clip(x, 0, 255) * (LEVELS / 256)).astype(np.int32)
    codes = ((q[..., 0] * LEVELS + q[..., 1]) * LEVELS + q[..., 2]).reshape(len(x), -1)
    across, down = np.abs(np.diff(x, axis=2)), np.abs(np.diff(x, axis=1))
    out = []
    for i, image_codes in enumerate(codes):
        shares = np.sort(np.bincount(image_codes, minlength=LEVELS ** 3))[::-1] / image_codes.size
        out.append({"flat_share": float(shares[0]),
                    "colours": int(np.searchsorted(np.cumsum(shares), COVERED) + 1),
                    "detail": float((across[i].mean() + down[i].mean()) / 2),
                    "edges": float((across[i].max(-1) > EDGE).mean())})
    return out
