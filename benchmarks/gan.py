"""DCGAN (or Progressive GAN) on binarized MNIST for a time budget: Fréchet distance and
class coverage.

    python benchmarks/gan.py --max-minutes 30
    python benchmarks/gan.py --model progan --phase 60000 --max-minutes 30
    python benchmarks/gan.py --smoke          # a few hundred images, seconds; writes nothing

Trains through the same path as ``pgm train dcgan`` or ``pgm train progan``
(pgm.infer.adversarial.train with the model's defaults) until the epoch during which
``--max-minutes`` pass, then draws 10,000 samples and compares them with the 10,000 test
images in the features of pgm's own small classifier (pgm.metrics; not the Inception FID
of papers, so no published figure to compare with). The distance between the validation
and test images is recorded too, as the floor a perfect model would reach. ``--vae RUN``
scores a trained VAE's samples by the same metric, in the same run. ``--pixels bernoulli``
(the default) draws binary images ``x ~ Bernoulli(G(z))`` like the data
(pgm.adversarial.base). Merges the figures into
benchmarks/results/gan.json and writes a grid of 64 samples to docs/figures/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import records
import torch

import pgm
from pgm.infer.adversarial import train
from pgm.metrics import classifier, sample_quality
from pgm.viz import save_grid

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"


@torch.no_grad()
def draw(model, n: int) -> torch.Tensor:
    """``n`` samples ``(n, 784)``, a thousand at a time."""
    return torch.cat([model.sample(min(1000, n - i)) for i in range(0, n, 1000)])


def quality(model, test: torch.Tensor, clf, seed: int) -> dict:
    """Sample quality (pgm.metrics.sample_quality) of ``len(test)`` samples of ``model``
    (drawn after seeding with ``seed``) against the images ``test``."""
    torch.manual_seed(seed)
    return sample_quality(draw(model, len(test)), test, clf)


def quality_records(name: str, config: dict, q: dict, floor: dict | None, seconds: float,
                    command: str) -> list[dict]:
    """The records of :func:`quality`'s figures (``floor`` may be left out)."""
    figures = [("frechet_distance_pgm_classifier", q["frechet_distance"], "feature units^2"),
               ("classes_covered", q["classes_covered"], "of 10"),
               ("class_share_min", min(q["class_coverage"]), "fraction"),
               ("class_share_max", max(q["class_coverage"]), "fraction"),
               ("coverage_entropy", q["coverage_entropy_bits"], "bits (max 3.32)")]
    if floor is not None:
        figures.insert(1, ("frechet_distance_valid_floor", floor["frechet_distance"],
                           "feature units^2"))
    return [records.record(name, config, "binarized-mnist", "test", metric, value, unit,
                           seconds, cmd=command) for metric, value, unit in figures]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="dcgan", choices=["dcgan", "progan"])
    ap.add_argument("--width", type=int, default=None, help="64 (dcgan), 32 (progan)")
    ap.add_argument("--phase", type=int, default=60_000,
                    help="progan: real images per phase of the growth schedule")
    ap.add_argument("--latent", type=int, default=100)
    ap.add_argument("--pixels", default="bernoulli", choices=["grey", "bernoulli"])
    ap.add_argument("--batch-std", action="store_true", help="minibatch std in D")
    ap.add_argument("--hidden", type=int, default=0, help="FC layer in G and D (1024)")
    ap.add_argument("--ema", type=float, default=None,
                    help="sample from a moving average of G's weights with this decay (0.999)")
    ap.add_argument("--classifier-cache", default=None)
    ap.add_argument("--vae", default=None, help="a trained VAE's run directory to score too")
    records.run_options(ap, out="runs/bench-dcgan")
    args = records.parse(ap)
    limit = 320 if args.smoke else None
    tr, va, te = (pgm.data.load("binarized-mnist", s, args.data_dir, limit=limit).x
                  for s in ("train", "valid", "test"))
    width = args.width or {"dcgan": 64, "progan": 32}[args.model]
    cfg = {"width": 8 if args.smoke else width, "latent": args.latent, "pixels": args.pixels}
    if args.model == "progan":
        cfg["phase"] = 100 if args.smoke else args.phase
    else:
        cfg |= {**({"batch_std": True} if args.batch_std else {}),
                **({"hidden": args.hidden} if args.hidden else {})}
    torch.manual_seed(args.seed)
    model = pgm.build(args.model, **cfg)
    command = records.command() if args.smoke else records.run_command(args.out, args.resume)
    summary = train(model, tr, out=args.out, resume=args.resume, data_name="binarized-mnist",
                    seed=args.seed, **({"ema": args.ema} if args.ema else {}),
                    epochs=1 if args.smoke else args.epochs, progress=False,
                    max_seconds=None if args.smoke else args.max_minutes * 60)
    clf, info = classifier("binarized-mnist", cache=args.classifier_cache,
                           data_dir=args.data_dir)
    q, floor = quality(model, te, clf, args.seed), sample_quality(va[: len(te)], te, clf)
    print(f"{args.model} {cfg}: {summary['step']} generator steps in {summary['seconds']:.0f} s; "
          f"Frechet distance {q['frechet_distance']:.1f} (valid vs test "
          f"{floor['frechet_distance']:.1f}), classes covered {q['classes_covered']}/10, "
          f"classifier accuracy {info['accuracy']:.3f}")
    config = {**cfg, **{k: summary["config"][k] for k in ("batch_size", "lr", "d_steps")},
              **({"ema": args.ema} if args.ema else {}), "generator_steps": summary["g_step"]}
    out = quality_records(args.model, config, q, floor, summary["seconds"], command)
    if args.vae:
        vae, ckpt = pgm.load_model(args.vae)
        with torch.no_grad():
            v = quality(vae, te, clf, args.seed)
        print(f"vae samples: Frechet distance {v['frechet_distance']:.1f}, classes covered "
              f"{v['classes_covered']}/10")
        out += quality_records("vae", vae.config, v, None, ckpt["state"]["seconds"],
                               records.command())
    if not args.smoke:
        records.write("gan", out)
        torch.manual_seed(args.seed)
        save_grid(model.sample(64), model.shape,
                  FIGURES / f"{args.model}-samples-{args.pixels}-width{width}"
                  f"{f'-hidden{args.hidden}' if args.hidden else ''}"
                  f"{'-ema' if args.ema else ''}.png")


if __name__ == "__main__":
    main()
