"""Your own VAE: a convolutional encoder and decoder on pgm's VAE, trained and inspected as usual.

    python examples/custom_vae.py                  # binarized MNIST, 10 epochs: 3 to 4 minutes
    python examples/custom_vae.py --epochs 30      # closer to convergence (slow on CPU)
    python examples/custom_vae.py --smoke          # 300 images, 1 epoch, seconds

:class:`ConvVAE` subclasses :class:`pgm.latent.vae.VAE` and replaces two networks: the
encoder's feature extractor (two stride-2 convolutions before the layers that output the
guide's ``loc`` and ``scale``) and the decoder (a linear layer to a ``7 x 7`` feature map,
then two stride-2 transposed convolutions to the pixels' Bernoulli logits). The model,
guide, ELBO, importance-sampled ``log_prob``, ``elbo_terms``, ``sample`` and the prior
options are inherited unchanged, so :func:`pgm.fit`, :func:`pgm.evaluate`,
:func:`pgm.posterior.latent_posterior` and checkpoints work on it as on the built-in VAE.
The built-in (MLP) VAE is trained alongside on the same images for the same epochs.

Writes to --out: ``samples.png`` (32 samples of each model, pixel means), ``reconstructions.png``
(test images, then posterior-predictive reconstructions), ``posterior_summary.csv`` and
``run-conv/``, ``run-mlp/`` (checkpoints).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import pgm
from pgm.core import register
from pgm.errors import check_positive_int
from pgm.latent.vae import VAE
from pgm.posterior import latent_posterior
from pgm.viz import save_grid

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az

NEEDS_DATA = True


def _halve(n: int) -> int:
    """Output size of a ``3 x 3`` convolution with stride 2 and padding 1."""
    return (n + 1) // 2


class ConvEncoder(nn.Module):
    """Images ``(..., C*H*W)`` -> features ``(..., hidden)``: two stride-2 convolutions."""

    def __init__(self, shape: tuple[int, int, int], channels: int, hidden: int):
        super().__init__()
        c, h, w = shape
        self.shape = shape
        self.conv = nn.Sequential(
            nn.Conv2d(c, channels, 3, stride=2, padding=1), nn.ELU(),
            nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1), nn.ELU(),
            nn.Flatten(),
            nn.Linear(2 * channels * _halve(_halve(h)) * _halve(_halve(w)), hidden), nn.ELU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[:-1]
        return self.conv(x.reshape(-1, *self.shape)).reshape(*batch, -1)


class ConvDecoder(nn.Module):
    """Latents ``(..., L)`` -> Bernoulli logits ``(..., C*H*W)``: two transposed convolutions."""

    def __init__(self, shape: tuple[int, int, int], latent: int, channels: int, hidden: int):
        super().__init__()
        c, h, w = shape
        self.sizes = [(h, w), (_halve(h), _halve(w)), (_halve(_halve(h)), _halve(_halve(w)))]
        h4, w4 = self.sizes[2]
        self.fc = nn.Sequential(nn.Linear(latent, hidden), nn.ELU(),
                                nn.Linear(hidden, 2 * channels * h4 * w4), nn.ELU())
        self.up1 = nn.ConvTranspose2d(2 * channels, channels, 3, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(channels, c, 3, stride=2, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        batch = z.shape[:-1]
        h = self.fc(z.reshape(-1, z.shape[-1]))
        h = h.reshape(len(h), -1, *self.sizes[2])
        h = F.elu(self.up1(h, output_size=self.sizes[1]))
        logits = self.up2(h, output_size=self.sizes[0])
        return logits.reshape(*batch, -1)


@register("conv-vae")
class ConvVAE(VAE):
    """The VAE of :mod:`pgm.latent.vae` with convolutional encoder and decoder networks.

    Parameters not listed here are :class:`~pgm.latent.vae.VAE`'s.

    :param hidden: one size: the fully connected layer between the feature maps and z.
    :param channels: feature maps of the first convolution (the second has twice as many).
    """

    def __init__(self, shape=(1, 28, 28), latent: int | list[int] = 16, hidden=(128,),
                 channels: int = 16, **vae_options):
        super().__init__(shape, latent=latent, hidden=hidden, **vae_options)
        if len(self.shape) != 3 or len(self.config["hidden"]) != 1:
            raise ValueError("shape, hidden: expected (C, H, W) and one hidden size")
        self.config["channels"] = check_positive_int(channels, "channels")
        z1 = latent if isinstance(latent, int) else latent[0]
        (h,) = self.config["hidden"]
        self.encoder = ConvEncoder(self.shape, channels, h)  # enc_loc, enc_scale read h
        self.decoder = ConvDecoder(self.shape, z1, channels, h)


def train(model: VAE, x: torch.Tensor, epochs: int, out: Path) -> float:
    """Fit ``model`` to images ``x`` ``(n, D)`` with pgm's trainer; returns the seconds taken."""
    t = time.perf_counter()
    pgm.fit(model, x, out=out, epochs=epochs, lr=2e-3, batch_size=100, seed=0, progress=False,
            log_every=0)
    return time.perf_counter() - t


@torch.no_grad()
def report(model: VAE, x: torch.Tensor) -> dict[str, float]:
    """Test figures, nats per image: ELBO and its KL term, importance-sampled NLL."""
    torch.manual_seed(0)
    terms = model.elbo_terms(x)
    return {"elbo": terms["elbo"].mean().item(), "kl": terms["kl"].mean().item(),
            "nll": pgm.evaluate(model, x, batch_size=200)["nll_nats"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="binarized-mnist")
    ap.add_argument("--limit", type=int, default=0, help="training images (0: all)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--latent", type=int, default=16)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--test", type=int, default=1000, help="test images to evaluate on")
    ap.add_argument("--out", default="runs/example-custom-vae")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.limit, args.epochs, args.test = 300, 1, 100
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    train_x = pgm.data.load(args.data, "train", binarize=True, limit=args.limit or None).x
    test = pgm.data.load(args.data, "test", binarize=True)
    # binarized MNIST's test split is ordered by digit: take evenly spaced images, not the first
    test_x = test.x[torch.linspace(0, len(test.x) - 1, min(args.test, len(test.x))).long()]
    k = 20 if args.smoke else 100  # importance samples per test image
    models = {
        "conv": ConvVAE(shape=test.shape, latent=args.latent, channels=args.channels,
                        eval_samples=k),
        "mlp": pgm.build("vae", shape=test.shape, latent=args.latent, eval_samples=k),
    }
    print(f"{len(train_x)} training images, {args.epochs} epochs; {len(test_x)} test images, "
          f"NLL with {k} importance samples")
    print(f"{'model':<5} {'parameters':>10} {'minutes':>8} {'ELBO':>8} {'KL':>6} {'NLL':>8}")
    for name, model in models.items():
        seconds = train(model, train_x, args.epochs, out / f"run-{name}")
        r = report(model, test_x)
        print(f"{name:<5} {model.num_parameters:>10,} {seconds / 60:>8.2f} {r['elbo']:>8.2f} "
              f"{r['kl']:>6.2f} {r['nll']:>8.2f}")

    conv = models["conv"]
    # the subclass is registered, so pgm rebuilds it from its checkpoint like a built-in model
    again, _ = pgm.load_model(out / "run-conv")
    torch.manual_seed(1)
    a = conv.eval().log_prob(test_x[:8])
    torch.manual_seed(1)
    b = again.log_prob(test_x[:8])
    print(f"reloaded {type(again).__name__} from {out / 'run-conv'}: "
          f"log_prob max difference {float((a - b).abs().max()):.1e}")

    x = test_x[torch.arange(4) * (len(test_x) // 4)]  # four test images, different digits
    idata = latent_posterior(conv, x, num_samples=500)
    summary = az.summary(idata, var_names=["z"], kind="stats")
    summary.to_csv(out / "posterior_summary.csv")
    print(summary.head(6))
    # rows: each test image, then 7 posterior-predictive reconstructions of it
    recon = torch.tensor(idata.posterior_predictive["x"].values[0, :7]).float()  # (7, 4, D)
    rows = torch.cat([x[:, None], recon.transpose(0, 1)], 1).reshape(-1, conv.dim)
    save_grid(rows, conv.shape, out / "reconstructions.png", nrow=len(x))
    torch.manual_seed(0)
    with torch.no_grad():
        samples = torch.cat([models[n].sample(32, mean=True) for n in ("conv", "mlp")])
    save_grid(samples, conv.shape, out / "samples.png", nrow=8)  # rows 1-4 conv, 5-8 mlp
    print(f"figures in {out}")


if __name__ == "__main__":
    main()
