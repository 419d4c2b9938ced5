"""Fit the codes of MNIST digits to priors an ELBO cannot use, with an adversarial autoencoder.

    python examples/aae_priors.py                    # 2 priors x 15 epochs: ~12 minutes
    python examples/aae_priors.py --prior swiss-roll --epochs 30
    python examples/aae_priors.py --smoke            # 320 images, 1 epoch, seconds

A VAE fits its prior through KL(q(z | x) || p(z)), so the prior needs a density. The
adversarial autoencoder (``aae``, Makhzani et al. 2016) fits it by a game: a discriminator
tells prior draws from codes of images and the encoder learns to fool it. So the prior only
has to be sampled: here a swiss roll (no density at all) and a ring of ten Gaussians, in
two dimensions so the codes can be drawn.

Writes to --out, for each prior: ``codes-<prior>.png`` (codes of the labelled test digits of
``mnist-test``, coloured by digit, over prior draws in grey) and ``samples-<prior>.png``
(decoded prior draws); and prints the energy distance between the codes and the prior
(0 when they match) before and after training.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import pgm  # noqa: E402
from pgm.infer.adversarial import train  # noqa: E402
from pgm.metrics import energy_distance  # noqa: E402
from pgm.viz import save_grid  # noqa: E402

NEEDS_DATA = True


def codes_vs_prior(model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Codes ``(N, 2)`` of ``x``, as many prior draws, and their energy distance."""
    with torch.no_grad():
        codes, prior = model.encode(x)[0], model.prior().sample((len(x),))
    return codes, prior, energy_distance(codes, prior)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prior", action="append", choices=["swiss-roll", "mixture", "normal"],
                    help="a prior to fit (repeatable; default: swiss-roll and mixture)")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="runs/aae_priors")
    ap.add_argument("--smoke", action="store_true", help="320 images, 1 epoch")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    limit = 320 if args.smoke else None
    train_x = pgm.data.load("binarized-mnist", "train", args.data_dir, limit=limit).x
    test = pgm.data.load("mnist-test", "test", args.data_dir, binarize=True, limit=limit)
    for prior in args.prior or ["swiss-roll", "mixture"]:
        torch.manual_seed(0)
        model = pgm.build("aae", latent=2, prior=prior, hidden=[64] if args.smoke else [512, 512])
        before = codes_vs_prior(model, test.x)[2]
        train(model, train_x, epochs=1 if args.smoke else args.epochs, seed=0, progress=False,
              log_every=0, out=out / f"run-{prior}")
        model.eval()
        codes, draws, after = codes_vs_prior(model, test.x)
        print(f"{prior}: energy distance between test codes and the prior {before:.3f} before "
              f"training, {after:.3f} after")
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.scatter(draws[:, 0], draws[:, 1], s=2, c="lightgrey", label="prior draws")
        points = ax.scatter(codes[:, 0], codes[:, 1], s=3, c=test.y, cmap="tab10")
        ax.legend(*points.legend_elements(), title="digit", fontsize=7, loc="upper right")
        ax.set_title(f"AAE codes of test digits, {prior} prior")
        fig.savefig(out / f"codes-{prior}.png", dpi=100)
        plt.close(fig)
        torch.manual_seed(1)
        save_grid(model.sample(64, mean=True), model.shape, out / f"samples-{prior}.png")
    print(f"figures in {out}")


if __name__ == "__main__":
    main()
