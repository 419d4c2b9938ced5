"""A biased coin and a loaded die: SVI and NUTS against the exact conjugate posterior.

    python examples/coin_and_die.py                 # the comparison table and a figure
    python examples/coin_and_die.py --smoke         # a few steps, to check that it runs

The coin is Bernoulli with a Beta prior, the die Categorical with a Dirichlet prior;
both posteriors are known exactly (Beta and Dirichlet with the counts added), so the
automatic guides (AutoNormal, AutoDiagonalNormal: a Gaussian in the unconstrained
space, pushed through the logit and stick-breaking transforms) and NUTS can be
checked against it: posterior mean within 0.01, standard deviation within 10%.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import pyro
import pyro.distributions as dist
import torch

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az

import pgm
from pgm.core.program import Program
from pgm.infer.mcmc import nuts
from pgm.posterior import posterior
from pgm.viz import save_figure

PRIOR_COIN = (2.0, 2.0)
PRIOR_DIE = torch.ones(6)


def coin(flips: torch.Tensor) -> None:
    """A coin of unknown bias ``p``; ``flips`` ``(N,)`` in {0, 1}."""
    p = pyro.sample("p", dist.Beta(*PRIOR_COIN))
    with pyro.plate("data", len(flips)) as i:
        pyro.sample("flip", dist.Bernoulli(p), obs=flips[i])


def die(rolls: torch.Tensor) -> None:
    """A die of unknown face probabilities ``probs`` ``(6,)``; ``rolls`` ``(N,)`` in 0..5."""
    probs = pyro.sample("probs", dist.Dirichlet(PRIOR_DIE))
    with pyro.plate("data", len(rolls)) as i:
        pyro.sample("roll", dist.Categorical(probs), obs=rolls[i])


def exact(name: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior mean and standard deviation, in closed form."""
    if name == "coin":
        a = torch.tensor([PRIOR_COIN[0] + x.sum(), PRIOR_COIN[1] + (1 - x).sum()])
    else:
        a = PRIOR_DIE + torch.bincount(x, minlength=6)
    post = dist.Dirichlet(a)  # a Beta is the first coordinate of a 2-D Dirichlet
    mean, sd = post.mean, post.variance.sqrt()
    return (mean[0], sd[0]) if name == "coin" else (mean, sd)


def simulate(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    flips = (torch.rand(200, generator=g) < 0.7).float()
    rolls = torch.multinomial(torch.tensor([0.1, 0.1, 0.1, 0.1, 0.2, 0.4]), 300,
                              replacement=True, generator=g)
    return {"coin": flips, "die": rolls}


def compare(smoke: bool = False, methods=("auto_normal", "auto_diagonal_normal", "nuts"),
            ) -> tuple[list[dict], dict]:
    """One row per (model, method): the largest errors against the exact posterior.

    :returns: the rows and ``{(model, method): InferenceData}``.
    """
    data = simulate()
    rows, fits = [], {}
    for name, fn, arg, site in (("coin", coin, "flips", "p"), ("die", die, "rolls", "probs")):
        mean, sd = exact(name, data[name])
        for method in methods:
            if method == "nuts":
                idata = nuts(fn, {arg: data[name]}, num_samples=20 if smoke else 500,
                             warmup_steps=20 if smoke else 200)
            else:
                prog = Program(fn, method, {arg: data[name]})
                pgm.fit(prog, epochs=5 if smoke else 1500, lr=0.05, lr_decay=0.997,
                        seed=0, progress=False, log_every=0)
                idata = posterior(prog, num_samples=40 if smoke else 4000)
            draws = torch.as_tensor(idata.posterior[site].values).flatten(0, 1)
            rows.append({"model": name, "method": method,
                         "mean_error": float((draws.mean(0) - mean).abs().max()),
                         "sd_rel_error": float((draws.std(0) / sd - 1).abs().max()),
                         "r_hat": float(az.rhat(idata, var_names=[site])[site].max())})
            fits[name, method] = idata
    return rows, fits


def plot(fits: dict, path: Path) -> Path:
    """The coin's bias and the die's last face: each method's draws and the exact density."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = simulate()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    for ax, name, site in ((axes[0], "coin", "p"), (axes[1], "die", "probs")):
        a = (torch.tensor([PRIOR_COIN[0] + data[name].sum(), PRIOR_COIN[1]
                           + (1 - data[name]).sum()]) if name == "coin"
             else PRIOR_DIE + torch.bincount(data[name], minlength=6))
        beta = dist.Beta(a[-1], a.sum() - a[-1]) if name == "die" else dist.Beta(a[0], a[1])
        for (model, method), idata in fits.items():
            if model == name:
                v = torch.as_tensor(idata.posterior[site].values).flatten(0, 1)
                v = v if name == "coin" else v[:, -1]
                ax.hist(v.numpy(), bins=40, density=True, histtype="step", label=method)
        grid = torch.linspace(float(beta.mean - 5 * beta.stddev),
                              float(beta.mean + 5 * beta.stddev), 200)
        ax.plot(grid, beta.log_prob(grid).exp(), "k--", label="exact")
        ax.set_title("coin: P(heads)" if name == "coin" else "die: P(face 6)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out", default="runs/coin_and_die")
    args = ap.parse_args()
    rows, fits = compare(args.smoke)
    print(f"{'model':<5} {'method':<22} {'|mean err|':>10} {'|sd err| %':>10} {'r_hat':>6}")
    for r in rows:
        print(f"{r['model']:<5} {r['method']:<22} {r['mean_error']:>10.4f} "
              f"{100 * r['sd_rel_error']:>10.1f} {r['r_hat']:>6.3f}")
    print(plot(fits, Path(args.out) / "coin_and_die.png"))


if __name__ == "__main__":
    main()
