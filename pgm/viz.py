"""Pictures: image grids as PNG files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pgm.io import atomic_write


def grid(images: torch.Tensor, shape: tuple[int, ...], nrow: int | None = None,
         pad: int = 1) -> np.ndarray:
    """Tile images ``(n, pixels)`` of ``shape`` ``(C, H, W)`` into one ``uint8`` array of
    ``nrow`` rows (default: a square), filled row by row.

    Values are taken to lie in [0, 1]. Returns ``(rows*(H+pad)+pad, cols*(W+pad)+pad[, 3])``.
    """
    c, h, w = shape
    n = images.shape[0]
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    imgs = images.detach().float().clamp(0, 1).reshape(n, c, h, w).cpu().numpy()
    out = np.ones((c, nrow * (h + pad) + pad, ncol * (w + pad) + pad), dtype=np.float32) * 0.5
    for i in range(n):
        r, q = divmod(i, ncol)
        out[:, pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + q * (w + pad) : pad + q * (w + pad) + w] = imgs[i]
    out = (out * 255).round().astype(np.uint8)
    return out[0] if c == 1 else out.transpose(1, 2, 0)


def save_grid(images: torch.Tensor, shape: tuple[int, ...], path: str | Path,
              nrow: int | None = None, scale: int = 2) -> Path:
    """Write a grid of ``images`` ``(n, pixels)`` to the PNG ``path`` (atomically)."""
    img = Image.fromarray(grid(images, shape, nrow))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    with atomic_write(path) as f:
        img.save(f, format="PNG")
    return path


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Write a matplotlib figure to the PNG ``path`` (atomically, folders made), then close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_elbo_terms(history: list[dict], path: str | Path, x: str = "epoch",
                    title: str | None = None) -> Path:
    """Plot a VAE's ELBO terms from a training history (``reconstruction``, ``kl``) to PNG.

    :param x: the history key for the horizontal axis, ``"epoch"`` or ``"seconds"``
        (shown in minutes).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [h[x] / 60 if x == "seconds" else h[x] for h in history]
    fig, ax = plt.subplots(1, 2, figsize=(8, 3))
    ax[0].plot(xs, [-h["reconstruction"] for h in history])
    ax[0].set_title("reconstruction  -E_q log p(x|z)")
    ax[1].plot(xs, [h["kl"] for h in history], color="C1")
    ax[1].set_title("prior fitting  KL(q(z|x) || p(z))")
    for a in ax:
        a.set_xlabel("training time (minutes)" if x == "seconds" else x)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_inference(idata, out: str | Path, var_names: list[str] | None = None) -> list[Path]:
    """ArviZ's standard pictures of a posterior, one PNG each, into the folder ``out``.

    ``trace.png`` (``az.plot_trace``), ``posterior.png`` (``az.plot_posterior``),
    ``pair.png`` (``az.plot_pair``, when there are 2 to 8 scalar components) and
    ``ppc.png`` (``az.plot_ppc``, when there is a posterior predictive group).
    """
    import warnings

    import arviz as az
    import matplotlib

    matplotlib.use("Agg")

    out = Path(out)
    scalars = sum(int(np.prod(idata.posterior[v].shape[2:])) for v in
                  (var_names or list(idata.posterior.data_vars)))
    plots = {"trace": lambda: az.plot_trace(idata, var_names=var_names),
             "posterior": lambda: az.plot_posterior(idata, var_names=var_names)}
    if 2 <= scalars <= 8:
        plots["pair"] = lambda: az.plot_pair(idata, var_names=var_names, kind="kde")
    if "posterior_predictive" in idata.groups():
        plots["ppc"] = lambda: az.plot_ppc(idata, num_pp_samples=50)
    written = []
    for name, draw in plots.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # subplot caps, KDE of few values
            axes = draw()
        fig = np.asarray(axes).ravel()[0].get_figure()
        written.append(save_figure(fig, out / f"{name}.png", dpi=90))
    return written
