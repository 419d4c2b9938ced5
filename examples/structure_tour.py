"""Parameters against fit: independence structures on 28x28 binary images.

    python examples/structure_tour.py                         # built-in shapes
    python examples/structure_tour.py --data binarized-mnist  # the benchmark's data
    python examples/structure_tour.py --smoke

Fits the fully independent model, the Markov chain and order-k autoregressive tables by
their closed-form counts, prints test NLL beside the parameter count, and saves samples.
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
    ap.add_argument("--ordering", default="snake")
    ap.add_argument("--out", default="runs/example-structure")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    limit = 500 if args.smoke else None
    train, test = (pgm.data.load(args.data, s, binarize=True, limit=limit)
                   for s in ("train", "test"))
    models = [pgm.build("bernoulli", shape=train.shape),
              pgm.build("markov", shape=train.shape, ordering=args.ordering)]
    models += [pgm.build("ar", shape=train.shape, k=k, ordering=args.ordering)
               for k in (2, 4, 8)]
    print(f"{'model':<24} {'parameters':>12} {'test NLL (nats)':>16}")
    for m in models:
        m.fit_counts(train.x, pseudo_count=0.1)
        label = m.name + (f" k={m.k}" if m.name == "ar" else "")
        print(f"{label:<24} {m.num_parameters:>12,} {pgm.metrics.nll(m, test.x):>16.2f}")
    torch.manual_seed(0)
    print(save_grid(models[-1].sample(36), train.shape, Path(args.out) / "ar8-samples.png"))


if __name__ == "__main__":
    main()
