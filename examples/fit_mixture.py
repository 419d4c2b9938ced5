"""Fit a mixture of Bernoullis by SVI, evaluate it and look at what it learned.

    python examples/fit_mixture.py                      # built-in shapes, about 20 s
    python examples/fit_mixture.py --data binarized-mnist --components 500
    python examples/fit_mixture.py --smoke              # a few seconds

Writes the component means and samples as PNG grids to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import pgm
from pgm.viz import save_grid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="shapes")
    ap.add_argument("--components", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--out", default="runs/example-mixture")
    ap.add_argument("--smoke", action="store_true", help="tiny data, one epoch")
    args = ap.parse_args()
    limit = 300 if args.smoke else None
    epochs = 1 if args.smoke else args.epochs

    train, valid, test = (pgm.data.load(args.data, s, binarize=True, limit=limit)
                          for s in ("train", "valid", "test"))
    model = pgm.build("mixture", shape=train.shape, components=args.components)
    print(f"{model.num_parameters:,} free parameters")
    pgm.fit(model, train.x, valid.x, out=Path(args.out) / "run", epochs=epochs, progress=False)

    r = pgm.evaluate(model, test.x)
    print(f"test NLL {r['nll_nats']:.2f} nats ({r['bits_per_dim']:.4f} bits/dim)")

    # what it learned: components sorted by weight, their posterior use on test data
    weights = torch.softmax(model.mix_logits.detach(), 0)
    order = weights.argsort(descending=True)
    means = torch.sigmoid(model.logits.detach()[order])
    used = model.posterior(test.x).argmax(-1).bincount(minlength=len(weights))
    print("heaviest components:", [f"{weights[k]:.3f}" for k in order[:5].tolist()],
          f"; {int((used > 0).sum())} of {len(weights)} components explain some test image")
    print(save_grid(means, model.shape, Path(args.out) / "components.png"))
    print(save_grid(model.sample(64), model.shape, Path(args.out) / "samples.png"))


if __name__ == "__main__":
    main()
