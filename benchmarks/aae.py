"""Adversarial autoencoder on binarized MNIST for a time budget: samples, codes, features.

    python benchmarks/aae.py --max-minutes 25
    python benchmarks/aae.py --smoke          # a few hundred images, seconds; writes nothing

Trains through the same path as ``pgm train aae`` (pgm.infer.adversarial.train with the
model's defaults) until the epoch during which ``--max-minutes`` pass, then measures the
three uses of the model on images it never saw:

- generation: 10,000 samples against the 10,000 test images by the DCGAN's metrics
  (Fréchet distance in pgm's classifier features, class shares; benchmarks/gan.py);
- prior fitting: the energy distance between the codes of the test images and as many
  prior draws (0 when the aggregated posterior is the prior), and the reconstruction
  ``-log p(x | encoder(x))`` in nats per image;
- representation: a linear classifier on the codes of ``mnist-test`` (binarized; 8,000
  train / 1,000 test images), the VAE's probe (benchmarks/vae_probe.py).

Merges the figures into benchmarks/results/aae.json and writes a grid of 64 samples to
docs/figures/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import records
import torch
from gan import quality, quality_records

import pgm
from pgm.infer.adversarial import train
from pgm.metrics import classifier, energy_distance, linear_probe, sample_quality
from pgm.viz import save_grid

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latent", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=512, help="width of the two hidden layers")
    ap.add_argument("--prior", default="normal", choices=["normal", "mixture"])
    ap.add_argument("--weight", type=float, default=3.0)
    ap.add_argument("--classifier-cache", default=None)
    records.run_options(ap, out="runs/bench-aae")
    args = records.parse(ap)
    limit = 320 if args.smoke else None
    tr, va, te = (pgm.data.load("binarized-mnist", s, args.data_dir, limit=limit).x
                  for s in ("train", "valid", "test"))
    labelled = {s: pgm.data.load("mnist-test", s, args.data_dir, binarize=True, limit=limit)
                for s in ("train", "test")}
    cfg = {"latent": args.latent, "hidden": [16 if args.smoke else args.hidden] * 2,
           "prior": args.prior, "weight": args.weight}
    torch.manual_seed(args.seed)
    model = pgm.build("aae", **cfg)
    command = records.command() if args.smoke else records.run_command(args.out, args.resume)
    summary = train(model, tr, out=None if args.smoke else args.out, resume=args.resume,
                    data_name="binarized-mnist", seed=args.seed,
                    epochs=1 if args.smoke else args.epochs, progress=False,
                    max_seconds=None if args.smoke else args.max_minutes * 60)
    model.eval()
    clf, _ = classifier("binarized-mnist", cache=args.classifier_cache, data_dir=args.data_dir)
    q, floor = quality(model, te, clf, args.seed), sample_quality(va[: len(te)], te, clf)
    torch.manual_seed(args.seed)
    with torch.no_grad():
        codes = model.encode(te)[0]  # (N, L)
        fit = energy_distance(codes, model.prior().sample((len(te),)))
        rec = model.terms(te)["reconstruction"].item()
        feats = {s: model.encode(d.x)[0] for s, d in labelled.items()}
    probe = linear_probe(feats["train"], labelled["train"].y, feats["test"], labelled["test"].y)
    print(f"aae {cfg}: {summary['step']} autoencoder steps in {summary['seconds']:.0f} s; "
          f"Frechet distance {q['frechet_distance']:.1f} (valid vs test "
          f"{floor['frechet_distance']:.1f}), classes covered {q['classes_covered']}/10; "
          f"codes vs prior energy distance {fit:.4f}; reconstruction {rec:.1f} nats; "
          f"linear probe on codes {probe:.4f}")
    config = {**cfg, **{k: summary["config"][k] for k in ("batch_size", "lr", "lr_d")},
              "generator_steps": summary["g_step"]}
    out = quality_records("aae", config, q, floor, summary["seconds"], command)
    out += [records.record("aae", config, "binarized-mnist", "test", metric, value, unit,
                           summary["seconds"], cmd=command)
            for metric, value, unit in (
                ("code_prior_energy_distance", fit, "energy distance (0: codes ~ prior)"),
                ("reconstruction_nats", rec, "nats per image"))]
    out.append(records.record("aae", config, "mnist-test (binarized)", "test",
                              "probe_accuracy", probe, "fraction", summary["seconds"],
                              cmd=command))
    if not args.smoke:
        records.write("aae", out)
        torch.manual_seed(args.seed)
        save_grid(model.sample(64, mean=True), model.shape,
                  FIGURES / f"aae-samples-{args.prior}-latent{args.latent}.png")


if __name__ == "__main__":
    main()
