"""Flu or allergy? A Bayesian network with hidden causes, learned by SVI and queried.

    python examples/bayesnet_latent.py            # about 40 s: the tables, a figure in --out
    python examples/bayesnet_latent.py --smoke    # a few steps, to check that it runs

Two hidden causes, ``flu`` and ``allergy``, and five observed symptoms::

    flu -> fever, cough, sneeze          allergy -> sneeze, itchy_eyes, runny_nose

The user writes the network as a plain Pyro model (:func:`diagnosis`): each conditional
probability table (CPT) is a ``pyro.param`` on the simplex, the hidden causes are
``Categorical`` sites marked for parallel enumeration. :class:`~pgm.core.program.Program`
with ``guide=None`` sums them out (``TraceEnum_ELBO``, chosen automatically), so SVI
maximizes the exact log-likelihood of the symptoms: maximum likelihood, as EM would.

Then, for a few symptom records, ``p(flu, allergy | symptoms)`` three ways: the
frequencies of :func:`pgm.posterior.posterior`'s draws (``infer_discrete``), the exact answer
by enumeration under the learned CPTs (:class:`~pgm.structure.bayesnet.BayesNet`), and the
exact answer under the true CPTs. The learned CPTs are compared with the true ones, after
relabelling each hidden variable's values (a hidden variable's labels are arbitrary).

Each hidden cause has three observed children, which makes the CPTs identifiable (a
latent class model with three conditionally independent views). The textbook student
network with Difficulty and Intelligence both hidden is not: Difficulty's only child is
Grade, so only the product ``p(D) p(G | D, I)`` summed over D can be learned from data.
"""

from __future__ import annotations

import argparse
import itertools
import math
from pathlib import Path

import pyro
import pyro.distributions as dist
import torch
from pyro.distributions import constraints

import pgm
from pgm.core.program import Program
from pgm.posterior import posterior
from pgm.structure.bayesnet import BayesNet
from pgm.viz import save_figure

HIDDEN = ("flu", "allergy")
SYMPTOMS = ("fever", "cough", "sneeze", "itchy_eyes", "runny_nose")
PARENTS = {"flu": [], "allergy": [], "fever": ["flu"], "cough": ["flu"],
           "sneeze": ["flu", "allergy"], "itchy_eyes": ["allergy"],
           "runny_nose": ["allergy"]}

#: symptom records to query, columns in the order of :data:`SYMPTOMS`
RECORDS = torch.tensor([
    [0, 0, 0, 0, 0],  # nothing
    [1, 1, 0, 0, 0],  # fever and cough
    [0, 0, 1, 0, 0],  # a sneeze alone
    [0, 0, 1, 1, 1],  # sneeze, itchy eyes, runny nose
    [1, 0, 1, 1, 0],  # fever, sneeze, itchy eyes
    [1, 1, 1, 1, 1],  # everything
])


def true_net() -> BayesNet:
    """The network the data are simulated from; values 0 = no, 1 = yes."""
    def yes(p: float) -> list[float]:
        return [1 - p, p]

    return BayesNet({
        "flu": ([], yes(0.3)),
        "allergy": ([], yes(0.4)),
        "fever": (["flu"], [yes(0.1), yes(0.8)]),
        "cough": (["flu"], [yes(0.2), yes(0.7)]),
        "sneeze": (["flu", "allergy"], [[yes(0.05), yes(0.7)], [yes(0.4), yes(0.9)]]),
        "itchy_eyes": (["allergy"], [yes(0.1), yes(0.75)]),
        "runny_nose": (["allergy"], [yes(0.15), yes(0.6)]),
    })


def simulate(net: BayesNet, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Ancestral sampling: ``(symptoms (n, 5), hidden (n, 2))``, integer values."""
    g = torch.Generator().manual_seed(seed)
    values: dict[str, torch.Tensor] = {}
    for name in net.order:
        probs = net.cpt[name][tuple(values[p] for p in net.parents[name])]
        probs = probs.expand(n, -1) if probs.dim() == 1 else probs
        values[name] = torch.multinomial(probs, 1, generator=g).squeeze(-1)
    return (torch.stack([values[s] for s in SYMPTOMS], -1),
            torch.stack([values[h] for h in HIDDEN], -1))


def _cpt(name: str, *shape: int) -> torch.Tensor:
    """The CPT ``name`` of shape ``(*parent cards, card)``, a parameter on the simplex.

    It starts at a random table (Pyro's global seed): uniform tables are a saddle point
    where the hidden values are interchangeable and the gradient does not break the tie.
    """
    return pyro.param(f"cpt_{name}", lambda: dist.Dirichlet(torch.full(shape, 3.0)).sample(),
                      constraint=constraints.simplex)


def diagnosis(x: torch.Tensor) -> None:
    """The user's model of symptom records ``x`` ``(N, 5)`` (columns :data:`SYMPTOMS`)."""
    cpt = {h: _cpt(h, 2) for h in HIDDEN}
    cpt.update({s: _cpt(s, *[2] * len(PARENTS[s]), 2) for s in SYMPTOMS})
    with pyro.plate("data", len(x)) as i:
        flu = pyro.sample("flu", dist.Categorical(cpt["flu"]),
                          infer={"enumerate": "parallel"})
        allergy = pyro.sample("allergy", dist.Categorical(cpt["allergy"]),
                              infer={"enumerate": "parallel"})
        value = {"flu": flu, "allergy": allergy}
        for j, s in enumerate(SYMPTOMS):
            probs = cpt[s][tuple(value[p] for p in PARENTS[s])]
            pyro.sample(s, dist.Categorical(probs), obs=x[i, j])


def learn(x: torch.Tensor, epochs: int = 300, lr: float = 0.1, seed: int = 0) -> Program:
    """Fit :func:`diagnosis` to ``x`` ``(N, 5)`` by SVI, the hidden causes enumerated."""
    pyro.set_rng_seed(seed)  # the random starting CPTs
    prog = Program(diagnosis, guide=None, data={"x": x})
    pgm.fit(prog, epochs=epochs, lr=lr, seed=seed, progress=False, log_every=0)
    return prog


def as_net(prog: Program) -> BayesNet:
    """The learned CPTs as a :class:`BayesNet`, for exact queries."""
    return BayesNet({v: (PARENTS[v], prog.param(f"cpt_{v}")) for v in PARENTS})


def permute(table: torch.Tensor, axes: list[str], perm: dict[str, tuple[int, ...]]
            ) -> torch.Tensor:
    """Relabel the values of ``table``: axis ``k`` (variable ``axes[k]``) by ``perm``.

    New label ``j`` of a variable ``v`` in ``perm`` is its old label ``perm[v][j]``.
    """
    for k, v in enumerate(axes):
        if v in perm:
            table = table.index_select(k, torch.tensor(perm[v]))
    return table


def relabel(net: BayesNet, truth: BayesNet) -> tuple[BayesNet, dict[str, tuple[int, ...]]]:
    """``net`` with each hidden variable's values permuted to best match ``truth``'s CPTs.

    The likelihood does not change under such a relabelling, so learning cannot prefer
    one labelling over another; the permutation with the smallest total absolute CPT
    difference is chosen, over all hidden variables jointly. Returns the relabelled
    network and the permutation (see :func:`permute`).
    """
    best, best_err = (net, {}), math.inf
    for perms in itertools.product(*[itertools.permutations(range(net.card[h]))
                                     for h in HIDDEN]):
        perm = dict(zip(HIDDEN, perms, strict=True))
        cand = BayesNet({v: (net.parents[v], permute(net.cpt[v], net.parents[v] + [v], perm))
                         for v in net.order})
        err = sum(float((cand.cpt[v] - truth.cpt[v]).abs().sum()) for v in net.order)
        if err < best_err:
            best, best_err = (cand, perm), err
    return best


def cpt_errors(net: BayesNet, truth: BayesNet) -> dict[str, float]:
    """Largest absolute difference of each CPT entry from the truth."""
    return {v: float((net.cpt[v] - truth.cpt[v]).abs().max()) for v in truth.order}


def log_likelihood(net: BayesNet, x: torch.Tensor) -> float:
    """Exact ``log p(x)`` of the records ``x`` ``(N, 5)``, the hidden causes summed out."""
    rows, counts = x.unique(dim=0, return_counts=True)
    return sum(int(c) * math.log(net.probability(dict(zip(SYMPTOMS, r.tolist(), strict=True))))
               for r, c in zip(rows, counts, strict=True))


def sampled_query(prog: Program, records: torch.Tensor, num_samples: int = 2000,
                  seed: int = 0) -> torch.Tensor:
    """``p(flu, allergy | record)`` ``(R, 2, 2)``: frequencies of posterior draws.

    :func:`pgm.posterior.posterior` draws the enumerated sites from their exact joint
    conditional (``infer_discrete``); its ``flu`` and ``allergy`` have dims
    ``(chain, draw, data)``.
    """
    idata = posterior(prog.with_data(x=records), num_samples=num_samples, seed=seed)
    flu = torch.as_tensor(idata.posterior["flu"].values).flatten(0, 1)  # (S, R)
    allergy = torch.as_tensor(idata.posterior["allergy"].values).flatten(0, 1)
    joint = torch.nn.functional.one_hot(2 * flu + allergy, 4).double().mean(0)  # (R, 4)
    return joint.reshape(-1, 2, 2)


def exact_query(net: BayesNet, records: torch.Tensor) -> torch.Tensor:
    """``p(flu, allergy | record)`` ``(R, 2, 2)`` by enumeration (:meth:`BayesNet.query`)."""
    return torch.stack([net.query(list(HIDDEN), dict(zip(SYMPTOMS, r.tolist(), strict=True)))
                        for r in records])


def plot(records: torch.Tensor, sampled: torch.Tensor, exact: torch.Tensor,
         truth: torch.Tensor, num_samples: int, path: Path) -> Path:
    """Bars of ``p(flu = 1 | record)`` and ``p(allergy = 1 | record)``, three ways."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    labels = ["".join(map(str, r.tolist())) for r in records]
    pos = torch.arange(len(records)).float()
    for k, (ax, h) in enumerate(zip(axes, HIDDEN, strict=True)):
        marg = [t.sum(2 - k)[:, 1] for t in (sampled, exact, truth)]  # p(h = 1 | record)
        err = 2 * (marg[0] * (1 - marg[0]) / num_samples).sqrt()
        ax.bar(pos - 0.27, marg[0], 0.27, yerr=err, label="posterior draws (±2 s.e.)")
        ax.bar(pos, marg[1], 0.27, label="exact, learned CPTs")
        ax.bar(pos + 0.27, marg[2], 0.27, label="exact, true CPTs")
        ax.set_xticks(pos.tolist(), labels, rotation=30)
        ax.set_title(f"p({h} = 1 | symptoms)")
        ax.set_xlabel("record: " + " ".join(s.split("_")[0][:5] for s in SYMPTOMS))
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--out", default="runs/example-bayesnet-latent")
    ap.add_argument("--smoke", action="store_true", help="few records, few steps")
    args = ap.parse_args()
    n, epochs, draws = (200, 5, 40) if args.smoke else (args.records, args.epochs, 2000)

    truth = true_net()
    x, _ = simulate(truth, n, seed=0)
    prog = learn(x, epochs=epochs)
    learned, perm = relabel(as_net(prog), truth)
    print(f"{n} records, {epochs} full-batch SVI steps; log-likelihood per record: "
          f"learned CPTs {log_likelihood(learned, x) / n:.4f}, "
          f"true CPTs {log_likelihood(truth, x) / n:.4f}")
    print(f"\n{'CPT':<11} {'max |learned - true|':>20}")
    for v, e in cpt_errors(learned, truth).items():
        print(f"{v:<11} {e:>20.3f}")

    # the draws carry the program's labels: relabel them as the CPTs were
    sampled = permute(sampled_query(prog, RECORDS, num_samples=draws), ["r", *HIDDEN], perm)
    exact, under_truth = exact_query(learned, RECORDS), exact_query(truth, RECORDS)
    print(f"\np(cause = yes | record): {draws} posterior draws, exact enumeration under the "
          "learned CPTs, and under the true CPTs")
    print(f"{'record':<8} {'cause':<8} {'draws':>7} {'exact':>7} {'truth':>7}")
    for r, rec in enumerate(RECORDS):
        for k, h in enumerate(HIDDEN):
            s, e, t = (q[r].sum(1 - k)[1] for q in (sampled, exact, under_truth))
            print(f"{''.join(map(str, rec.tolist())):<8} {h:<8} {s:>7.3f} {e:>7.3f} {t:>7.3f}")
    print(plot(RECORDS, sampled, exact, under_truth, draws, Path(args.out) / "posterior.png"))


if __name__ == "__main__":
    main()
