"""Mixture of Bernoullis on binarized MNIST: test NLL against Uria et al. (2014).

    python benchmarks/mixture.py --components 10 500

Trains each K through the same path as ``pgm train mixture`` (pgm.fit with the
model's defaults), evaluates the best-validation checkpoint on the test split,
and merges the figures into benchmarks/results/mixture.json.
"""

from __future__ import annotations

import argparse
import math

import records

import pgm
from pgm.infer import evaluate

PUBLISHED = {10: 168.95, 500: 137.64}  # Uria et al. 2014, Tab. 2, nats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--components", type=int, nargs="+", default=[10, 500])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="runs/bench-mixture")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--smoke", action="store_true", help="a few hundred images, one epoch")
    args = ap.parse_args()
    limit = 500 if args.smoke else None
    split = {s: pgm.data.load("binarized-mnist", s, args.data_dir, limit=limit)
             for s in ("train", "valid", "test")}
    out = []
    for k in args.components:
        model = pgm.build("mixture", components=k)
        settings = {"epochs": 1} if args.smoke else {}
        if args.epochs:
            settings["epochs"] = args.epochs
        summary = pgm.fit(model, split["train"].x, split["valid"].x, out=f"{args.out}/k{k}",
                          data_name="binarized-mnist", progress=False, **settings)
        r = evaluate(model, split["test"].x)
        config = {"components": k, **{key: summary["config"][key]
                                     for key in ("epochs", "batch_size", "lr", "lr_decay")}}
        print(f"K={k}: test NLL {r['nll_nats']:.2f} nats (published {PUBLISHED.get(k, math.nan)})"
              f", best epoch {summary['best_epoch']}, {summary['seconds']:.0f} s")
        for metric, unit in (("nll_nats", "nats"), ("bits_per_dim", "bits/dim")):
            out.append(records.record("mixture", config, "binarized-mnist", "test", metric,
                                      r[metric], unit, summary["seconds"]))
    if not args.smoke:
        records.write("mixture", out)


if __name__ == "__main__":
    main()
