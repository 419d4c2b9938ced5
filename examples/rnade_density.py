"""RNADE on continuous data: dequantized grey MNIST digits, exact densities, samples.

    python examples/rnade_density.py            # mnist-test, 8000 training images
    python examples/rnade_density.py --smoke    # a few seconds

Reports the test log-density in nats per image (continuous, on [0, 1]^784) and the
bound it implies on the 8-bit discrete data, and writes samples as a PNG grid.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pgm
from pgm.viz import save_grid

NEEDS_DATA = True  # reads mnist-test; the smoke test skips without real data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="mnist-test", choices=["mnist-test", "fashion-mnist"])
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--components", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--out", default="runs/example-rnade")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    limit = 200 if args.smoke else None
    train, valid, test = (pgm.data.load(args.data, s, dequantize=True, limit=limit)
                          for s in ("train", "valid", "test"))
    model = pgm.build("rnade", shape=train.shape, hidden=args.hidden,
                      components=args.components)
    pgm.fit(model, train.x, valid.x, out=Path(args.out) / "run",
            epochs=1 if args.smoke else args.epochs, progress=False)
    nll = pgm.metrics.nll(model, test.x)
    d = model.dim
    print(f"test: -log p(x) = {nll:.1f} nats per image (density on [0,1]^{d}); "
          f"8-bit data: <= {(nll + d * math.log(256)) / (d * math.log(2)):.3f} bits/dim")
    print(save_grid(model.sample(36).clamp(0, 1), model.shape, Path(args.out) / "samples.png"))


if __name__ == "__main__":
    main()
