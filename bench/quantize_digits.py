"""The docs/quantize.md example: a small CNN on scikit-learn's bundled 8x8 digits, ready for `tinygen quantize`.

    python bench/quantize_digits.py OUT_DIR [--epochs N]

writes OUT_DIR/digits.keras (a tf_keras model, float), train.npz (1,200 images), eval.npz (the other
597), calib.npy (the first 200 training images). Nothing is downloaded: load_digits ships inside
scikit-learn. Seeds are fixed, so the same machine gives the same model.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tf_keras
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[..., None]  # [1797, 8, 8, 1] in 0..1
    y = data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "train.npz", x=x[:1200], y=y[:1200])
    np.savez(out / "eval.npz", x=x[1200:], y=y[1200:])
    np.save(out / "calib.npy", x[:200])

    tf_keras.utils.set_random_seed(0)
    model = tf_keras.Sequential([
        tf_keras.Input((8, 8, 1)),
        tf_keras.layers.Conv2D(16, 3, activation="relu"),
        tf_keras.layers.Conv2D(32, 3, activation="relu"),
        tf_keras.layers.Flatten(),
        tf_keras.layers.Dense(10),
    ])
    model.compile(optimizer=tf_keras.optimizers.Adam(1e-3),
                  loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x[:1200], y[:1200], epochs=args.epochs, batch_size=32, verbose=0)
    model.save(out / "digits.keras")
    _, acc = model.evaluate(x[1200:], y[1200:], verbose=0)
    print(f"wrote {out}/digits.keras (float accuracy on eval.npz {100 * acc:.1f}%), train.npz, eval.npz, calib.npy")


if __name__ == "__main__":
    main()
