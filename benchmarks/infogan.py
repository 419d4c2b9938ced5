"""InfoGAN on binarized MNIST for a time budget: the categorical code as an unsupervised classifier.

    python benchmarks/infogan.py --max-minutes 30
    python benchmarks/infogan.py --smoke          # a few hundred images, seconds; writes nothing

Trains through the same path as ``pgm train infogan`` (pgm.infer.adversarial.train with
the model's defaults: 10-valued categorical code, 2 continuous codes, 62 noise variables)
until the epoch during which ``--max-minutes`` pass. Then each labelled image of MNIST's
test set (``mnist-test``, binarized, its test split: 1,000 images never seen in training,
which used binarized MNIST's training images) is given the code value ``argmax Q(c | x)``,
code values are matched one to one to digits (Hungarian algorithm), and the fraction
misclassified is recorded as ``unsupervised_error`` (Chen et al. 2016 report about 5% on
MNIST after full training). The same error on the 1,000 images of the valid split is
recorded too: it is what chooses between runs (seeds, settings), never the test figure.
Writes a grid of what the codes control to ``--figures``/``infogan-codes-{i}.png``
(default docs/figures; rows: the categorical code; columns: continuous code ``i`` from -2
to 2) and merges the figures into benchmarks/results/infogan.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import records
import torch

import pgm
from pgm.adversarial.infogan import CATEGORICAL, save_code_grid
from pgm.infer.adversarial import train
from pgm.metrics.codes import code_table, matched_error

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--pixels", default="bernoulli", choices=["grey", "bernoulli"])
    ap.add_argument("--hidden", type=int, default=0, help="1024: the paper's FC layers")
    ap.add_argument("--lambda-cont", type=float, default=None,
                    help="weight of the continuous codes' information term (model default 0.1)")
    ap.add_argument("--lambda-cat", type=float, default=None,
                    help="weight of the categorical code's information term (model default 1)")
    ap.add_argument("--continuous", type=int, default=None,
                    help="number of continuous codes (model default 2)")
    ap.add_argument("--learn-scale", action="store_true",
                    help="Q learns the standard deviations of the continuous codes (default: 1)")
    ap.add_argument("--q-slant", type=float, default=0.0,
                    help="Q reads generated images sheared by a random slant up to this")
    ap.add_argument("--q-shift", type=int, default=0,
                    help="Q reads generated images moved by up to this many pixels")
    ap.add_argument("--noise", default="normal", choices=["normal", "uniform"],
                    help="p(z); uniform(-1, 1) is the reference implementation's")
    ap.add_argument("--batch-size", type=int, default=None, help="the model's default: 64")
    ap.add_argument("--figures", default=str(FIGURES), help="where the code grids go")
    ap.add_argument("--screen", action="store_true",
                    help="a screening run between seeds: the valid split's error and code "
                         "table only; the test split is not read and nothing is recorded "
                         "(--resume the chosen run to finish it)")
    records.run_options(ap, out="runs/bench-infogan", epochs=50)
    args = records.parse(ap)
    limit = 320 if args.smoke else None
    tr = pgm.data.load("binarized-mnist", "train", args.data_dir, limit=limit).x
    labelled = {split: pgm.data.load("mnist-test", split, args.data_dir, binarize=True, limit=limit)
                for split in (("valid",) if args.screen else ("valid", "test"))}
    optional = {  # in the config only when set, so that default runs keep their records' config
        "hidden": (16 if args.smoke else args.hidden) if args.hidden else None,
        "lambda_cont": args.lambda_cont, "lambda_cat": args.lambda_cat,
        "learn_scale": True if args.learn_scale else None, "continuous": args.continuous,
        "q_slant": args.q_slant or None, "q_shift": args.q_shift or None,
        "noise": None if args.noise == "normal" else args.noise}
    cfg = {"width": 8 if args.smoke else args.width, "pixels": args.pixels,
           **{k: v for k, v in optional.items() if v is not None}}
    torch.manual_seed(args.seed)
    model = pgm.build("infogan", **cfg)
    out_dir = None if args.smoke else Path(args.out)
    command = records.command() if args.smoke else records.run_command(args.out, args.resume)
    summary = train(model, tr, out=out_dir, resume=args.resume, data_name="binarized-mnist",
                    seed=args.seed,
                    **({"batch_size": args.batch_size} if args.batch_size else {}),
                    epochs=1 if args.smoke else args.epochs, progress=False,
                    max_seconds=None if args.smoke else args.max_minutes * 60)
    with torch.no_grad():  # argmax Q(c | x): each image's code value, once per split
        codes = {split: model.infer_codes(d.x)[0].argmax(1) for split, d in labelled.items()}
    error = {split: matched_error(codes[split], d.y) for split, d in labelled.items()}
    table = code_table(codes["valid"], labelled["valid"].y)
    print("valid images per code value (rows) and digit (columns):")
    print("\n".join(" ".join(f"{int(c):4d}" for c in row) for row in table))
    if args.screen:
        print(f"screening {cfg}, seed {args.seed}: {summary['step']} generator steps, "
              f"valid error {error['valid']:.3f}")
        return
    torch.manual_seed(args.seed)
    info = model.mutual_information(5000)
    for i in range(model.continuous if out_dir is not None else 0):
        save_code_grid(model, Path(args.figures) / f"infogan-codes-{i}.png", code=i)
    print(f"infogan {cfg}: {summary['step']} generator steps in {summary['seconds']:.0f} s; "
          f"unsupervised error on mnist-test valid {error['valid']:.3f}, "
          f"test {error['test']:.3f} ({len(labelled['test'])} images each); "
          f"L_I bound of the categorical code {info[CATEGORICAL]:.3f} nats (max 2.303)"
          + (f"; code grids in {args.figures}" if out_dir is not None else ""))
    config = {**cfg, **{k: summary["config"][k] for k in ("batch_size", "lr", "lr_d")},
              "generator_steps": summary["g_step"], "seed": args.seed}
    out = [*(records.record("infogan", config, "mnist-test (binarized)", split,
                            "unsupervised_error", e, "fraction misclassified",
                            summary["seconds"], cmd=command) for split, e in error.items()),
           records.record("infogan", config, "binarized-mnist", "generated",
                          "mutual_information_bound_categorical", info[CATEGORICAL],
                          "nats (max log 10 = 2.303)", summary["seconds"], cmd=command)]
    if not args.smoke:
        records.write("infogan", out)


if __name__ == "__main__":
    main()
