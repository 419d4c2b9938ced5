"""CycleGAN on grey MNIST digits, thin to bold, from unpaired halves: is the translation right?

    python benchmarks/cyclegan.py --max-minutes 15
    python benchmarks/cyclegan.py --smoke       # a few hundred images, seconds; writes nothing

Trains through the same path as ``pgm train cyclegan --data mnist-test`` (the shared
adversarial loop): domain A is one half of the 8,000 training images of ``mnist-test``,
domain B the other half with its strokes thickened (``pgm.data.domains``, a 3x3 grey-level
dilation), so no digit of A has its bold self in B. The true translation of each test
digit is known, so on the 1,000 test images it measures the mean absolute pixel error of
``G(a)`` against ``bold(a)`` (``l1_ab``), of ``F(bold(a))`` against ``a`` (``l1_ba``), of
the round trip ``F(G(a))`` (``l1_cycle``), and the mark to beat, the error of leaving the
digits unchanged (``l1_unchanged``).

Writes a grid (rows: test digits, ``G`` of them, their true bold version, ``F`` of that) to
docs/figures/cyclegan-bold.png and merges the figures into benchmarks/results/cyclegan.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import records
import torch

import pgm
from pgm.infer.adversarial import train
from pgm.viz import save_grid

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "cyclegan-bold.png"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-4)
    records.run_options(ap, out="runs/bench-cyclegan")
    args = records.parse(ap)
    limit = 256 if args.smoke else None
    data = "mnist-test"
    tr, te = (pgm.data.load(data, s, args.data_dir, limit=limit) for s in ("train", "test"))
    cfg = {"width": 4 if args.smoke else args.width, "blocks": 1 if args.smoke else args.blocks,
           "domains": "bold"}
    torch.manual_seed(args.seed)
    model = pgm.build("cyclegan", **cfg)
    b, a = model.training_data(tr)  # unpaired halves: B = bold(other half of A's data)
    command = records.command() if args.smoke else records.run_command(args.out, args.resume)
    summary = train(model, b, condition=a, out=args.out, resume=args.resume, data_name=data,
                    seed=args.seed, epochs=1 if args.smoke else args.epochs, progress=False,
                    batch_size=args.batch_size, lr=args.lr,
                    max_seconds=None if args.smoke else args.max_minutes * 60)
    errors = model.translation_errors(te.x)
    print(f"cyclegan {cfg}: {summary['step']} generator steps in {summary['seconds']:.0f} s; "
          f"test mean absolute error A->B {errors['l1_ab']:.4f}, B->A {errors['l1_ba']:.4f}, "
          f"cycle {errors['l1_cycle']:.4f}; unchanged digits {errors['l1_unchanged']:.4f}")
    if args.smoke:
        return
    x = te.x[:8]
    bold = pgm.data.domains.bold(x, model.shape)
    save_grid(torch.cat([x, model.translate(x), bold, model.translate(bold, "ba")]),
              model.shape, FIGURE, nrow=8)
    config = {**cfg, **{k: summary["config"][k] for k in ("batch_size", "lr")},
              "generator_steps": summary["step"]}
    records.write("cyclegan", [
        records.record("cyclegan", config, data, "test", metric, value,
                       "mean absolute pixel error", summary["seconds"], cmd=command)
        for metric, value in errors.items()])


if __name__ == "__main__":
    main()
