"""Representation learning: a linear classifier on a trained VAE's posterior means.

    python benchmarks/vae_probe.py runs/bench-vae/vae-elbo1-normal-200-200
    python benchmarks/vae_probe.py --smoke

The labelled grey MNIST test set, binarized with pgm's fixed seed (``mnist-test``: 8000
train / 1000 valid / 1000 test images), is encoded by the VAE's guide; a multinomial
logistic regression (``pgm.metrics.linear_probe``) is trained on the posterior means of the
train part and tested on the test part. The same classifier on the raw pixels is the
baseline. Writes benchmarks/results/vae_probe.json.
"""

from __future__ import annotations

import argparse
import time

import records
import torch

import pgm
from pgm.metrics import linear_probe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", help="a trained VAE's run directory or checkpoint")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--smoke", action="store_true", help="a VAE fitted for one epoch here")
    args = ap.parse_args()
    tr, te = (pgm.data.load("mnist-test", s, args.data_dir, binarize=True)
              for s in ("train", "test"))
    if args.smoke:
        model = pgm.build("vae", latent=8, hidden=[64])
        summary = pgm.fit(model, tr.x[:1000], epochs=1, progress=False)
        train_seconds = summary["seconds"]
    else:
        if not args.run:
            ap.error("expected the run directory of a trained VAE (or --smoke)")
        model, ckpt = pgm.load_model(args.run)
        train_seconds = ckpt["state"]["seconds"]
    t0 = time.perf_counter()
    with torch.no_grad():
        f_tr, f_te = (model.encode(d.x)[0] for d in (tr, te))
    acc = {"posterior_mean": linear_probe(f_tr, tr.y, f_te, te.y),
           "pixels": linear_probe(tr.x, tr.y, te.x, te.y)}
    print(f"linear probe, test accuracy: posterior means {acc['posterior_mean']:.4f}, "
          f"raw pixels {acc['pixels']:.4f} ({time.perf_counter() - t0:.0f} s)")
    if args.smoke:
        return
    records.write("vae_probe", [
        records.record("vae", {**model.config, "features": k, "probe_train": len(tr),
                               "probe_test": len(te)},
                       "mnist-test (binarized)", "test", "probe_accuracy", v, "fraction",
                       train_seconds)
        for k, v in acc.items()])


if __name__ == "__main__":
    main()
