"""Density estimation as anomaly detection: -log p(x) from a model of MNIST digits.

    python examples/anomaly_detection.py --run runs/bench-autoregressive/nade-raster-500-sigmoid
    python examples/anomaly_detection.py            # trains a small NADE first (minutes)
    python examples/anomaly_detection.py --smoke

Scores the binarized MNIST test digits (inliers) and Fashion-MNIST test images binarized
the same way (outliers) by their negative log-likelihood, reports the AUROC, and writes a
histogram of both scores.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import pgm  # noqa: E402
from pgm.metrics import auroc  # noqa: E402

NEEDS_DATA = True  # binarized MNIST and Fashion-MNIST; the smoke test skips without them


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=None, help="a trained run directory (pgm train ... --out)")
    ap.add_argument("--model", default="nade")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--out", default="runs/example-anomaly")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    limit = 300 if args.smoke else None
    if args.run:
        model, _ = pgm.load_model(args.run)
    else:
        train = pgm.data.load("binarized-mnist", "train", limit=limit)
        cfg = {"hidden": 20 if args.smoke else 100} if args.model == "nade" else {}
        model = pgm.build(args.model, **cfg)
        pgm.fit(model, train.x, epochs=1 if args.smoke else args.epochs, progress=False)
    inl = pgm.data.load("binarized-mnist", "test", limit=limit).x
    out = pgm.data.load("fashion-mnist", "test", binarize=True, limit=limit).x
    with torch.no_grad():
        s_in, s_out = -model.log_prob(inl), -model.log_prob(out)
    area = auroc(s_in, s_out)
    print(f"{model.name}: mean -log p(x) MNIST {s_in.mean():.1f} nats, Fashion-MNIST "
          f"{s_out.mean():.1f} nats; AUROC {area:.4f}")
    fig, ax = plt.subplots(figsize=(5, 3))
    bins = torch.linspace(0, float(torch.quantile(torch.cat([s_in, s_out]), 0.99)), 60)
    ax.hist(s_in.numpy(), bins=bins.numpy(), alpha=0.6, label="MNIST test (inliers)")
    ax.hist(s_out.numpy(), bins=bins.numpy(), alpha=0.6, label="Fashion-MNIST (outliers)")
    ax.set_xlabel("-log p(x) (nats)")
    ax.set_title(f"{model.name}: AUROC {area:.3f}")
    ax.legend()
    fig.tight_layout()
    path = Path(args.out) / "scores.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(path)


if __name__ == "__main__":
    main()
