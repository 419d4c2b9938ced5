"""Puzzle-GAN on grey MNIST digits: whole digits from three 8x8 pieces at unknown places.

    python benchmarks/puzzle.py --max-minutes 15
    python benchmarks/puzzle.py --smoke       # a few hundred images, seconds; writes nothing

Trains through the same path as ``pgm train puzzlegan --data mnist-test`` (the shared
adversarial loop; new key patches of every real batch at each step) on the 8,000 training
digits of ``mnist-test``. On the 1,000 test digits, with seeded patches and noise
(``PuzzleGAN.scores``): the mean absolute pixel error of the completed digit against the
original, inside and outside the pieces, the predicted mask's intersection over union with
the true one, and two marks, an empty canvas and the pieces in place on one. Then does
the completion keep the digit? pgm's MNIST classifier (pgm.metrics) labels the completions,
the pieces in place alone, and the original digits; ``class_kept`` is the share of
completions given their original's label.

Writes a grid (rows: test digits, their pieces in place, two completions with different
noise, the predicted mask) to docs/figures/puzzle-digits.png and merges the figures into
benchmarks/results/puzzle.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import records
import torch

import pgm
from pgm.infer.adversarial import train
from pgm.metrics import classifier
from pgm.viz import save_grid

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "puzzle-digits.png"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=None, help="the model's default")
    ap.add_argument("--lr", type=float, default=None, help="the model's default")
    ap.add_argument("--lr-d", type=float, default=None, help="the model's default")
    ap.add_argument("--classifier-cache", default=None)
    records.run_options(ap, out="runs/bench-puzzle")
    args = records.parse(ap)
    limit = 256 if args.smoke else None
    data = "mnist-test"
    tr, te = (pgm.data.load(data, s, args.data_dir, limit=limit) for s in ("train", "test"))
    cfg = {"width": 4 if args.smoke else args.width}
    torch.manual_seed(args.seed)
    model = pgm.build("puzzlegan", **cfg)
    command = records.command() if args.smoke else records.run_command(args.out, args.resume)
    given = {k: v for k, v in (("batch_size", args.batch_size), ("lr", args.lr),
                                ("lr_d", args.lr_d)) if v is not None}
    summary = train(model, tr.x, out=args.out, resume=args.resume, data_name=data,
                    seed=args.seed, epochs=1 if args.smoke else args.epochs, progress=False,
                    max_seconds=None if args.smoke else args.max_minutes * 60, **given)
    scores = model.scores(te.x)
    patches, mask = model.pieces(te.x, torch.Generator().manual_seed(0))  # as scores cuts
    z = model.draw_noise(len(te.x), torch.Generator().manual_seed(1))
    completed, predicted = model.complete(patches, z)
    in_place = te.x * mask
    clf, info = classifier(data, cache=args.classifier_cache, data_dir=args.data_dir)
    kept = {name: float((clf.predict(x)[1] == te.y).float().mean())
            for name, x in (("class_kept", completed), ("class_of_pieces", in_place),
                            ("class_of_originals", te.x))}
    figures = {**scores, **kept}
    print(f"puzzlegan {cfg}: {summary['step']} generator steps in {summary['seconds']:.0f} s; "
          + ", ".join(f"{k} {v:.4f}" for k, v in figures.items()))
    if args.smoke:
        return
    n = 10
    other, _ = model.complete(patches[:n], model.draw_noise(n, torch.Generator().manual_seed(2)))
    save_grid(torch.cat([te.x[:n], in_place[:n], completed[:n], other, predicted[:n]]),
              model.shape, FIGURE, nrow=5)
    config = {**cfg, "patches": model.k, "patch": model.patch, "lambda_app": model.lambda_app,
              "lambda_spa": model.lambda_spa,
              **{k: summary["config"][k] for k in ("batch_size", "lr", "lr_d")},
              "generator_steps": summary["g_step"]}
    units = {"mask_iou": "fraction"} | {k: "fraction" for k in kept}
    records.write("puzzle", [
        records.record("puzzlegan", config, data, "test", metric, value,
                       units.get(metric, "mean absolute pixel error"), summary["seconds"],
                       cmd=command)
        for metric, value in figures.items()])


if __name__ == "__main__":
    main()
