"""A hidden Markov model written with ``pyro.markov``: SVI, then the hidden states decoded.

    python examples/hmm.py            # about a minute: the tables, a figure in --out
    python examples/hmm.py --smoke    # a few steps, to check that it runs

The user's model (:func:`hmm`) has ``K = 3`` hidden states ``z_t``, a first-state
distribution ``pi``, a transition matrix ``A`` (``A[j, k] = p(z_t = k | z_{t-1} = j)``) and
Gaussian emissions ``y_t ~ Normal(mu[z_t], sigma[z_t])``, all ``pyro.param``s. The states
are ``Categorical`` sites marked for parallel enumeration inside ``pyro.markov``, which
tells Pyro that ``z_t`` depends on ``z_{t-1}`` alone, so ``TraceEnum_ELBO`` sums them out
by the forward algorithm: SVI on it maximizes the exact likelihood (Baum-Welch's
objective). ``guide=None``: there is nothing left for a guide.

With the parameters learned, the states are decoded two ways:

* the most probable path (Viterbi), ``infer_discrete(..., temperature=0)``;
* posterior draws of every ``z_t``, from :func:`pgm.posterior.posterior` (``infer_discrete``
  at temperature 1, forward filtering backward sampling), whose frequencies estimate the
  marginals ``p(z_t | y)``, checked here against the forward-backward algorithm.

The decoded states are compared with the simulated ones (accuracy up to a relabelling of
the states) and the learned parameters with the true ones.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.distributions import constraints
from pyro.infer import infer_discrete

import pgm
from pgm.core.program import Program
from pgm.posterior import posterior
from pgm.viz import save_figure

K = 3
TRUE = {
    "pi": torch.tensor([0.6, 0.3, 0.1]),
    "A": torch.tensor([[0.90, 0.07, 0.03],
                       [0.05, 0.90, 0.05],
                       [0.10, 0.10, 0.80]]),
    "mu": torch.tensor([-2.0, 0.0, 2.5]),
    "sigma": torch.tensor([0.6, 0.5, 0.8]),
}


def simulate(num_seqs: int, length: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences from :data:`TRUE`: ``(y (num_seqs, length) float, z (num_seqs, length) long)``."""
    g = torch.Generator().manual_seed(seed)
    z = torch.empty(num_seqs, length, dtype=torch.long)
    z[:, 0] = torch.multinomial(TRUE["pi"], num_seqs, replacement=True, generator=g)
    for t in range(1, length):
        z[:, t] = torch.multinomial(TRUE["A"][z[:, t - 1]], 1, generator=g).squeeze(-1)
    y = TRUE["mu"][z] + TRUE["sigma"][z] * torch.randn(z.shape, generator=g)
    return y, z


def hmm(y: torch.Tensor) -> None:
    """The user's model of sequences ``y`` ``(S, T)``: one HMM, ``S`` independent sequences.

    The emission means start at quantiles of the data, spreading the states out.
    """
    pi = pyro.param("pi", lambda: torch.full((K,), 1.0 / K), constraint=constraints.simplex)
    A = pyro.param("A", lambda: torch.full((K, K), 0.2 / (K - 1)).fill_diagonal_(0.8),
                   constraint=constraints.simplex)
    mu = pyro.param("mu", lambda: y.flatten().quantile(torch.linspace(0.1, 0.9, K)))
    sigma = pyro.param("sigma", lambda: y.std().expand(K).clone(),
                       constraint=constraints.positive)
    with pyro.plate("data", y.shape[0]) as i:
        z = None
        for t in pyro.markov(range(y.shape[1])):
            z = pyro.sample(f"z_{t}", dist.Categorical(pi if z is None else A[z]),
                            infer={"enumerate": "parallel"})
            pyro.sample(f"y_{t}", dist.Normal(mu[z], sigma[z]), obs=y[i, t])


def learn(y: torch.Tensor, epochs: int = 100, lr: float = 0.05, seed: int = 0) -> Program:
    """Fit :func:`hmm` to ``y`` ``(S, T)`` by SVI, every state enumerated out."""
    prog = Program(hmm, guide=None, data={"y": y})
    pgm.fit(prog, epochs=epochs, lr=lr, seed=seed, progress=False, log_every=0)
    return prog


def params(prog: Program) -> dict[str, torch.Tensor]:
    """The learned ``pi, A, mu, sigma``."""
    return {k: prog.param(k) for k in TRUE}


def states(tr: poutine.Trace, length: int) -> torch.Tensor:
    """The values of ``z_0 .. z_{T-1}`` in a trace, ``(S, T)``."""
    return torch.stack([tr.nodes[f"z_{t}"]["value"] for t in range(length)], -1)


@torch.no_grad()
def viterbi(prog: Program) -> torch.Tensor:
    """The most probable state path of each sequence ``(S, T)``: ``infer_discrete`` at
    temperature 0 replaces the forward algorithm's sums by maxima (max-product)."""
    decoder = infer_discrete(prog.model, temperature=0,
                             first_available_dim=-1 - prog.max_plate_nesting)
    return states(poutine.trace(decoder).get_trace(), prog.data["y"].shape[1])


def sampled_marginals(prog: Program, num_samples: int = 200, seed: int = 0) -> torch.Tensor:
    """Frequencies of the states in :func:`pgm.posterior.posterior`'s draws ``(S, T, K)``."""
    idata = posterior(prog, num_samples=num_samples, seed=seed)
    z = torch.stack([torch.as_tensor(idata.posterior[f"z_{t}"].values).flatten(0, 1)
                     for t in range(prog.data["y"].shape[1])], -1)  # (draws, S, T)
    return torch.nn.functional.one_hot(z, K).double().mean(0)


def forward_backward(y: torch.Tensor, pi: torch.Tensor, A: torch.Tensor, mu: torch.Tensor,
                     sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact ``p(z_t | y)`` ``(S, T, K)`` and ``log p(y)`` ``(S,)``, in log space."""
    log_e = dist.Normal(mu, sigma).log_prob(y[..., None])  # (S, T, K)
    log_A = A.log()
    T = y.shape[1]
    alpha = [pi.log() + log_e[:, 0]]
    for t in range(1, T):
        alpha.append(torch.logsumexp(alpha[-1][:, :, None] + log_A, 1) + log_e[:, t])
    beta = [torch.zeros_like(alpha[0])]
    for t in range(T - 1, 0, -1):
        beta.insert(0, torch.logsumexp(log_A + (log_e[:, t] + beta[0])[:, None, :], 2))
    log_z = torch.logsumexp(alpha[-1], -1)
    post = (torch.stack(alpha, 1) + torch.stack(beta, 1) - log_z[:, None, None]).exp()
    return post, log_z


def best_relabelling(decoded: torch.Tensor, z: torch.Tensor) -> tuple[tuple[int, ...], float]:
    """The relabelling ``perm`` (learned state ``k`` is true state ``perm[k]``) under which
    ``decoded`` agrees most with the true states ``z``, and that agreement (accuracy)."""
    return max(((perm, float((torch.tensor(perm)[decoded] == z).double().mean()))
                for perm in itertools.permutations(range(K))), key=lambda pa: pa[1])


def plot(y: torch.Tensor, z: torch.Tensor, decoded: torch.Tensor, marginals: torch.Tensor,
         mu: torch.Tensor, path: Path) -> Path:
    """One sequence ``y`` ``(T,)``: observations coloured by decoded state, the marginals
    ``p(z_t | y)`` ``(T, K)`` stacked, and the true states ``z`` ``(T,)`` as a strip above."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = ["tab:blue", "tab:orange", "tab:green"]
    t = torch.arange(len(y))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    for k in range(K):
        on = decoded == k
        top.scatter(t[on], y[on], s=12, color=colors[k], label=f"decoded state {k}")
        top.axhline(float(mu[k]), color=colors[k], lw=0.8, ls="--")
    wrong = decoded != z
    top.scatter(t[wrong], y[wrong], s=60, facecolors="none", edgecolors="red",
                label="decoded state is wrong")
    top.set_ylabel("y_t")
    top.legend(fontsize=8, ncol=4, loc="upper left")
    bottom.stackplot(t, marginals.T, colors=colors, alpha=0.7)
    bottom.scatter(t, torch.full((len(t),), 1.15), c=[colors[k] for k in z], marker="s", s=14)
    bottom.set_yticks([0, 0.5, 1, 1.15], ["0", "0.5", "1", "true state"])
    bottom.set_ylim(0, 1.22)
    bottom.set_ylabel("p(z_t | y)")
    bottom.set_xlabel("t")
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=8)
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--out", default="runs/example-hmm")
    ap.add_argument("--smoke", action="store_true", help="short sequences, few steps")
    args = ap.parse_args()
    seqs, length, epochs, draws = ((2, 20, 3, 16) if args.smoke else
                                   (args.sequences, args.length, args.epochs, 200))

    y, z = simulate(seqs, length, seed=0)
    prog = learn(y, epochs=epochs)
    learned = params(prog)
    decoded = viterbi(prog)
    perm, acc = best_relabelling(decoded, z)
    inv = torch.tensor(perm).argsort()  # true state j is learned state inv[j]
    print(f"{seqs} sequences of {length} steps, {epochs} full-batch SVI steps")
    print(f"\n{'parameter':<12} {'true':>22} {'learned (relabelled)':>24}")
    for k, v in (("pi", inv), ("mu", inv), ("sigma", inv)):
        print(f"{k:<12} {_fmt(TRUE[k]):>22} {_fmt(learned[k][v]):>24}")
    print(f"{'diag(A)':<12} {_fmt(TRUE['A'].diag()):>22} "
          f"{_fmt(learned['A'][inv][:, inv].diag()):>24}")

    exact, log_z = forward_backward(y, **learned)
    sampled = sampled_marginals(prog, num_samples=draws)
    with torch.no_grad():
        loss = prog.elbo().loss(prog.model, prog.guide)
    print(f"\nlog p(y): -ELBO loss {-loss:.3f}, forward algorithm {float(log_z.sum()):.3f}")
    print(f"state accuracy, most probable path (infer_discrete, temperature 0): {acc:.3f}")
    print(f"state accuracy, argmax of forward-backward marginals: "
          f"{float((torch.tensor(perm)[exact.argmax(-1)] == z).double().mean()):.3f}")
    print(f"accuracy by chance (most frequent true state): "
          f"{float(z.flatten().bincount(minlength=K).max() / z.numel()):.3f}")
    print(f"max |p(z_t = k | y): {draws} posterior draws - forward-backward|: "
          f"{float((sampled - exact).abs().max()):.3f} "
          f"(2 s.e. at p = 1/2: {2 * (0.25 / draws) ** 0.5:.3f})")
    print(plot(y[0], z[0], torch.tensor(perm)[decoded[0]], exact[0][:, inv],
               learned["mu"][inv], Path(args.out) / "states.png"))


def _fmt(t: torch.Tensor) -> str:
    return " ".join(f"{float(v):6.3f}" for v in t)


if __name__ == "__main__":
    main()
