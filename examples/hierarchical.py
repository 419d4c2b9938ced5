"""Students within schools: your own hierarchical Pyro model, fitted by SVI and by NUTS.

    python examples/hierarchical.py              # SVI and NUTS, the comparison table, figures
    python examples/hierarchical.py --smoke      # a few steps, to check that it runs

The model is a plain Pyro function with two nested plates (Gelman & Hill, 2007, ch. 12):
each school ``s`` has a mean score ``theta_s`` drawn around the overall mean ``mu`` with
spread ``tau`` (plate ``schools``), and each of its students' scores is drawn around
``theta_s`` with spread ``sigma`` (plate ``students``, inside ``schools``). The data are
simulated, so the true values are known. The model is fitted twice: by SVI with an
automatic guide (:class:`~pgm.core.program.Program`, :func:`pgm.fit`) and by NUTS
(:func:`pgm.infer.mcmc.nuts`); both posteriors become ArviZ ``InferenceData`` whose dims
are the plates' names, for ``az.summary``, ``az.loo`` and the plots.

Writes to --out: ``forest.png`` (SVI and NUTS side by side), ``posterior.png`` (the
hyperparameters with their true values), ``summary_svi.csv`` and ``summary_nuts.csv``.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pyro  # noqa: E402
import pyro.distributions as dist  # noqa: E402
import torch  # noqa: E402

import pgm  # noqa: E402
from pgm.core.program import Program  # noqa: E402
from pgm.infer.mcmc import nuts  # noqa: E402
from pgm.posterior import posterior  # noqa: E402
from pgm.viz import save_figure  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az  # noqa: E402

#: the values the data are simulated from (the school means are drawn from them)
TRUTH = {"mu": 5.0, "tau": 2.0, "sigma": 3.0}
HYPER = ("mu", "tau", "sigma")


def schools(scores: torch.Tensor) -> None:
    """Scores ``(N, S)`` of ``N`` students in each of ``S`` schools.

    ``mu ~ N(0, 10)``, ``tau, sigma ~ HalfNormal(5)``; ``theta_s ~ N(mu, tau)`` ``(S,)``;
    ``score_ns ~ N(theta_s, sigma)`` ``(N, S)``. The plate ``schools`` owns the last
    dimension and ``students`` the one before it.
    """
    num_students, num_schools = scores.shape
    mu = pyro.sample("mu", dist.Normal(0.0, 10.0))
    tau = pyro.sample("tau", dist.HalfNormal(5.0))
    sigma = pyro.sample("sigma", dist.HalfNormal(5.0))
    with pyro.plate("schools", num_schools, dim=-1):
        theta = pyro.sample("theta", dist.Normal(mu, tau))  # (S,)
        with pyro.plate("students", num_students, dim=-2):
            pyro.sample("score", dist.Normal(theta, sigma), obs=scores)  # (N, S)


def simulate(num_schools: int = 8, num_students: int = 12, seed: int = 0
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Scores ``(num_students, num_schools)`` and the true values (``theta``: ``(S,)``)."""
    g = torch.Generator().manual_seed(seed)
    theta = TRUTH["mu"] + TRUTH["tau"] * torch.randn(num_schools, generator=g)
    scores = theta + TRUTH["sigma"] * torch.randn(num_students, num_schools, generator=g)
    truth = {k: torch.tensor(v) for k, v in TRUTH.items()}
    return scores, {**truth, "theta": theta}


def fit_svi(scores: torch.Tensor, steps: int = 2000, guide: str = "auto_normal",
            seed: int = 0) -> Program:
    """The model and an automatic guide, fitted by SVI on all the scores at every step."""
    prog = Program(schools, guide, {"scores": scores})
    pgm.fit(prog, epochs=steps, lr=0.2, lr_decay=0.998, seed=seed, progress=False,
            log_every=0)
    return prog


def moments(idata: az.InferenceData, site: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior mean and standard deviation of ``site`` over chains and draws."""
    draws = idata.posterior[site]
    return (torch.as_tensor(draws.mean(("chain", "draw")).values),
            torch.as_tensor(draws.std(("chain", "draw")).values))


def table(truth: dict[str, torch.Tensor], fits: dict[str, az.InferenceData]) -> list[dict]:
    """One row per parameter (``theta[s]`` per school): truth, then mean and sd per fit."""
    rows = []
    for site in (*HYPER, "theta"):
        t = truth[site].reshape(-1)
        got = {name: [m.reshape(-1) for m in moments(idata, site)]
               for name, idata in fits.items()}
        for i in range(len(t)):
            row = {"parameter": site if site in HYPER else f"{site}[{i}]", "truth": float(t[i])}
            for name, (mean, sd) in got.items():
                row[f"{name}_mean"], row[f"{name}_sd"] = float(mean[i]), float(sd[i])
            rows.append(row)
    return rows


def plot(fits: dict[str, az.InferenceData], truth: dict[str, torch.Tensor], out: Path) -> None:
    """``forest.png``: every fit's intervals; ``posterior.png``: NUTS with the true values."""
    az.plot_forest(list(fits.values()), model_names=list(fits), var_names=[*HYPER, "theta"],
                   combined=True, hdi_prob=0.94, figsize=(6, 6))
    save_figure(plt.gcf(), out / "forest.png")
    ref = {k: [{"ref_val": float(truth[k])}] for k in HYPER}
    az.plot_posterior(fits["nuts"], var_names=list(HYPER), ref_val=ref, figsize=(12, 3),
                      textsize=9)
    save_figure(plt.gcf(), out / "posterior.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/example-hierarchical")
    ap.add_argument("--guide", default="auto_normal")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scores, truth = simulate()

    prog = fit_svi(scores, steps=20 if args.smoke else 2000, guide=args.guide)
    svi = posterior(prog, num_samples=40 if args.smoke else 2000)
    mcmc = nuts(schools, {"scores": scores}, num_samples=10 if args.smoke else 1000,
                warmup_steps=10 if args.smoke else 500, chains=2,
                jit_compile=True, ignore_jit_warnings=True)  # passed to pyro.infer.NUTS
    fits = {"svi": svi, "nuts": mcmc}
    print(f"dims: theta {svi.posterior['theta'].dims}, score {svi.log_likelihood['score'].dims}")

    raw = [f"{v:.2f}" for v in scores.mean(0).tolist()]  # each school's own average
    print(f"\n{'parameter':<10} {'truth':>6} {'average':>8} {'SVI mean':>9} {'sd':>6} "
          f"{'NUTS mean':>10} {'sd':>6}")
    for i, r in enumerate(table(truth, fits)):  # the hyperparameters, then theta[0], ...
        avg = raw[i - len(HYPER)] if i >= len(HYPER) else ""
        print(f"{r['parameter']:<10} {r['truth']:>6.2f} {avg:>8} {r['svi_mean']:>9.2f} "
              f"{r['svi_sd']:>6.2f} {r['nuts_mean']:>10.2f} {r['nuts_sd']:>6.2f}")
    divergent = int(mcmc.sample_stats["diverging"].sum())
    rhat = float(az.rhat(mcmc).to_array().max())
    print(f"NUTS: {divergent} divergent transitions, max r_hat {rhat:.3f}")

    for name, idata in fits.items():
        az.summary(idata, var_names=[*HYPER, "theta"]).to_csv(out / f"summary_{name}.csv")
        with warnings.catch_warnings():  # few draws in --smoke: Pareto k warnings
            warnings.simplefilter("ignore", UserWarning)
            loo = az.loo(idata, pointwise=True)
        print(f"{name:<4} elpd_loo {loo.elpd_loo:8.2f} (se {loo.se:.2f}), p_loo {loo.p_loo:.2f}, "
              f"max Pareto k {float(loo.pareto_k.max()):.2f}")
    plot(fits, truth, out)
    print(f"figures in {out}")


if __name__ == "__main__":
    main()
