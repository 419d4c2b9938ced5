"""Fit a VAE by SVI, then look inside: ELBO terms, posteriors in ArviZ, samples, latent grid.

    python examples/vae_inspect.py --data binarized-mnist --epochs 20
    python examples/vae_inspect.py --latent 2          # adds a 2-D latent-space grid
    python examples/vae_inspect.py --smoke             # built-in shapes, seconds

Writes to --out: elbo_terms.png (reconstruction and KL per epoch), posterior_summary.csv
and posterior_forest.png (q(z | x) of four test images, via ArviZ), reconstructions.png,
samples.png, and latent_grid.png for a 2-D latent space.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import pgm  # noqa: E402
from pgm.viz import plot_elbo_terms, save_grid  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az  # noqa: E402

from pgm.posterior import latent_posterior  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="shapes")
    ap.add_argument("--latent", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--out", default="runs/example-vae")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    limit = 400 if args.smoke else None
    train, valid, test = (pgm.data.load(args.data, s, binarize=True, limit=limit)
                          for s in ("train", "valid", "test"))
    model = pgm.build("vae", shape=train.shape, latent=args.latent,
                      hidden=[64] if args.smoke else [400])
    s = pgm.fit(model, train.x, valid.x, out=out / "run", progress=False, lr=3e-3,
                epochs=2 if args.smoke else args.epochs)

    # the ELBO as the course decomposes it: reconstruction + prior fitting (KL)
    plot_elbo_terms(s["history"], out / "elbo_terms.png")

    # binarized MNIST's test split is ordered by digit: take images spread over all of it
    spread = test.x[torch.linspace(0, len(test) - 1, 1000).long().unique()]
    nll = pgm.metrics.nll(model, spread)
    print(f"test NLL (importance sampled, {model.config['eval_samples']} samples, "
          f"{len(spread)} images): {nll:.2f} nats")

    x = spread[:: len(spread) // 4][:4]
    idata = latent_posterior(model, x, num_samples=500)
    summary = az.summary(idata, var_names=["z"], kind="stats")
    summary.to_csv(out / "posterior_summary.csv")
    print(summary)
    az.plot_forest(idata, var_names=["z"], combined=True, figsize=(5, 4))
    plt.savefig(out / "posterior_forest.png", dpi=110)

    # one row per image: the image, then 8 posterior-predictive reconstructions
    recon = torch.tensor(idata.posterior_predictive["x"].values[0, :8]).float()  # (8, 4, D)
    rows = torch.cat([x[:, None], recon.transpose(0, 1)], 1).reshape(-1, model.dim)
    save_grid(rows, model.shape, out / "reconstructions.png", nrow=len(x))
    save_grid(model.sample(64, mean=True), model.shape, out / "samples.png")
    if args.latent == 2:  # decode a grid of the 2-D latent space
        g = torch.linspace(-2.5, 2.5, 12)
        z = torch.cartesian_prod(g, g)
        with torch.no_grad():
            save_grid(torch.sigmoid(model.decoder(z)), model.shape, out / "latent_grid.png",
                      nrow=len(g))
    print(f"figures in {out}")


if __name__ == "__main__":
    main()
