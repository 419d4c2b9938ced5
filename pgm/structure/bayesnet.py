"""Small discrete Bayesian networks as Pyro models, queried by exact enumeration.

Declare each variable with its parents and its conditional probability table
(CPT), shape ``(*parent cardinalities, own cardinality)``::

    net = BayesNet({
        "cloudy":    ([], [0.5, 0.5]),
        "sprinkler": (["cloudy"], [[0.5, 0.5], [0.9, 0.1]]),
        "rain":      (["cloudy"], [[0.8, 0.2], [0.2, 0.8]]),
        "wet":       (["sprinkler", "rain"], [[[1.0, 0.0], [0.1, 0.9]],
                                              [[0.1, 0.9], [0.01, 0.99]]]),
    })
    net.query("rain", {"wet": 1})        # p(rain | wet = 1), by Bayes' rule

:meth:`BayesNet.model` is a Pyro program with one ``Categorical`` site per
variable, each marked for parallel enumeration. :meth:`query` enumerates the
unobserved sites (``poutine.enum``), adds the log-probabilities of every site
into one log-joint tensor, and normalizes: exact Bayes' rule.
:meth:`marginals` gets single-variable posteriors through
``TraceEnum_ELBO.compute_marginals``, and :meth:`map_estimate` the most probable
joint assignment through ``infer_discrete``; the tests check that all agree.
Conditional independence is tested numerically (:meth:`independent`) and read
from the graph by d-separation (:meth:`d_separated`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.infer import TraceEnum_ELBO, config_enumerate, infer_discrete

from pgm.errors import PGMError


class NetworkError(PGMError, ValueError):
    """An ill-formed network or query."""


def _names(x: str | Iterable[str]) -> list[str]:
    return [x] if isinstance(x, str) else list(x)


class BayesNet:
    """A Bayesian network over discrete variables.

    :param nodes: ``{name: (parents, cpt)}``; ``cpt`` has shape
        ``(*[card(p) for p in parents], card(name))`` and sums to 1 over its last axis.
    """

    def __init__(self, nodes: Mapping[str, tuple[Sequence[str], object]]):
        self.parents: dict[str, list[str]] = {}
        self.cpt: dict[str, torch.Tensor] = {}
        for name, (parents, table) in nodes.items():
            self.parents[name] = list(parents)
            self.cpt[name] = torch.as_tensor(table, dtype=torch.float64)
        for name, parents in self.parents.items():
            for p in parents:
                if p not in self.parents:
                    raise NetworkError(f"nodes: {name!r} has parent {p!r}, which is not a "
                                       f"variable of the network {sorted(self.parents)}")
        self.order = self._topological_order()
        self.card = {n: self.cpt[n].shape[-1] for n in self.order}
        for name in self.order:
            want = tuple(self.card[p] for p in self.parents[name]) + (self.card[name],)
            t = self.cpt[name]
            if tuple(t.shape) != want:
                raise NetworkError(f"nodes: the CPT of {name!r} should have shape {want} "
                                   f"(parents {self.parents[name]}), got {tuple(t.shape)}")
            if (t < 0).any() or not torch.allclose(t.sum(-1), torch.ones((), dtype=t.dtype)):
                raise NetworkError(f"nodes: the CPT of {name!r} must be non-negative and sum "
                                   "to 1 over its last axis")

    def _topological_order(self) -> list[str]:
        order, state = [], {}

        def visit(n, path):
            if state.get(n) == "done":
                return
            if state.get(n) == "active":
                cycle = path[path.index(n):] + [n]
                raise NetworkError(f"nodes: the network has a cycle {' -> '.join(cycle)}")
            state[n] = "active"
            for p in self.parents[n]:
                visit(p, path + [n])
            state[n] = "done"
            order.append(n)

        for n in self.parents:
            visit(n, [])
        return order

    # -- the Pyro program ------------------------------------------------------------------
    def model(self, evidence: Mapping[str, int] | None = None) -> dict[str, torch.Tensor]:
        """Sample every variable in topological order; ``evidence`` is observed."""
        evidence = self._check_evidence(evidence or {})
        values: dict[str, torch.Tensor] = {}
        for name in self.order:
            # log-CPT as logits: a zero stays an exact zero (probs would be clamped)
            logits = self.cpt[name].log()[tuple(values[p] for p in self.parents[name])]
            obs = evidence.get(name)
            values[name] = pyro.sample(
                name, dist.Categorical(logits=logits),
                obs=None if obs is None else torch.tensor(obs),
                infer={"enumerate": "parallel"})
        return values

    def _check_evidence(self, evidence: Mapping[str, int]) -> dict[str, int]:
        for k, v in evidence.items():
            if k not in self.card:
                raise NetworkError(f"evidence: unknown variable {k!r}; the network has "
                                   f"{self.order}")
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < self.card[k]:
                raise NetworkError(f"evidence: {k!r} takes values 0..{self.card[k] - 1}, "
                                   f"got {v!r}")
        return dict(evidence)

    # -- exact inference -------------------------------------------------------------------
    def log_joint(self, evidence: Mapping[str, int] | None = None
                  ) -> tuple[list[str], torch.Tensor]:
        """``(names, t)``: ``t[v_1, ..., v_m] = log p(names = v, evidence)`` over the latents."""
        evidence = self._check_evidence(evidence or {})
        tr = poutine.trace(poutine.enum(self.model, first_available_dim=-1)).get_trace(evidence)
        total = torch.zeros(())
        latent: dict[int, str] = {}
        for name in self.order:
            site = tr.nodes[name]
            total = total + site["fn"].log_prob(site["value"])
            if not site["is_observed"]:
                latent[-site["value"].dim()] = name
        dims = sorted(latent, reverse=True)  # -1, -2, ...: topological order
        names = [latent[d] for d in dims]
        full = torch.zeros([1] * len(dims)) + total  # make every latent dim explicit
        full = full.expand(*[self.card[latent[d]] for d in sorted(latent)])
        return names, full.permute(*[len(dims) + d for d in dims]) if dims else full

    def query(self, query: str | Sequence[str], evidence: Mapping[str, int] | None = None
              ) -> torch.Tensor:
        """``p(query | evidence)`` as a table, one axis per query variable, in the order given."""
        qs = _names(query)
        evidence = self._check_evidence(evidence or {})
        for q in qs:
            if q not in self.card:
                raise NetworkError(f"query: unknown variable {q!r}; the network has {self.order}")
            if q in evidence:
                raise NetworkError(f"query: {q!r} is also in the evidence")
        names, lj = self.log_joint(evidence)
        log_z = torch.logsumexp(lj.reshape(-1), 0)
        if not torch.isfinite(log_z):
            raise NetworkError(f"evidence: {evidence} has probability zero under the network")
        keep = [names.index(q) for q in qs]
        drop = [i for i in range(len(names)) if i not in keep]
        m = torch.logsumexp(lj, dim=drop) if drop else lj
        order = sorted(range(len(keep)), key=lambda i: keep[i])  # axes of m follow `names`
        return (m - log_z).exp().permute(*[order.index(i) for i in range(len(keep))])

    def probability(self, evidence: Mapping[str, int]) -> float:
        """``p(evidence)``, summing out every other variable."""
        _, lj = self.log_joint(evidence)
        return torch.logsumexp(lj.reshape(-1), 0).exp().item()

    def marginals(self, evidence: Mapping[str, int] | None = None) -> dict[str, torch.Tensor]:
        """Posterior marginal of each unobserved variable (``TraceEnum_ELBO.compute_marginals``)."""
        evidence = self._check_evidence(evidence or {})
        elbo = TraceEnum_ELBO(max_plate_nesting=0)
        m = elbo.compute_marginals(config_enumerate(self.model), lambda *a, **k: None, evidence)
        return {n: d.probs if hasattr(d, "probs") else d.log_prob(torch.arange(
            self.card[n])).exp() for n, d in m.items() if n not in evidence}

    def map_estimate(self, evidence: Mapping[str, int] | None = None) -> dict[str, int]:
        """The most probable joint assignment of the unobserved variables (``infer_discrete``)."""
        evidence = self._check_evidence(evidence or {})
        decoded = infer_discrete(self.model, temperature=0, first_available_dim=-1)
        values = decoded(evidence)
        return {n: int(v) for n, v in values.items() if n not in evidence}

    # -- conditional independence ----------------------------------------------------------
    def independent(self, x: str | Sequence[str], y: str | Sequence[str],
                    given: str | Sequence[str] = (), tol: float = 1e-6) -> bool:
        """Numerically: ``p(x | y, z) == p(x | z)`` for every ``y, z`` with ``p(y, z) > 0``."""
        xs, ys, zs = _names(x), _names(y), _names(given)
        joint = self.query(xs + ys + zs)  # p(x, y, z)
        nx, ny = len(xs), len(ys)
        p_xz = joint.sum(dim=tuple(range(nx, nx + ny)), keepdim=True)  # p(x, z)
        p_yz = joint.sum(dim=tuple(range(nx)), keepdim=True)  # p(y, z)
        p_z = p_yz.sum(dim=tuple(range(nx, nx + ny)), keepdim=True)  # p(z)
        ok = p_yz > 1e-12
        cond_xyz = joint / p_yz.clamp(min=1e-300)
        cond_xz = p_xz / p_z.clamp(min=1e-300)
        return bool(((cond_xyz - cond_xz).abs() <= tol)[ok.expand_as(joint)].all())

    def d_separated(self, x: str | Sequence[str], y: str | Sequence[str],
                    given: str | Sequence[str] = ()) -> bool:
        """From the graph: are ``x`` and ``y`` d-separated by ``given``?

        Uses the moralized ancestral graph (Lauritzen et al., 1990): keep the ancestors
        of ``x, y, given``, marry co-parents, drop directions, remove ``given``; d-separated
        iff no path is left between ``x`` and ``y``.
        """
        xs, ys, zs = _names(x), _names(y), _names(given)
        for v in xs + ys + zs:
            if v not in self.card:
                raise NetworkError(f"unknown variable {v!r}; the network has {self.order}")
        keep, stack = set(), xs + ys + zs
        while stack:
            v = stack.pop()
            if v not in keep:
                keep.add(v)
                stack.extend(self.parents[v])
        adj: dict[str, set[str]] = {v: set() for v in keep}
        for v in keep:
            ps = self.parents[v]
            for p in ps:
                adj[v].add(p)
                adj[p].add(v)
            for i, p in enumerate(ps):
                for q in ps[i + 1:]:
                    adj[p].add(q)
                    adj[q].add(p)
        blocked, seen, stack = set(zs), set(xs), list(xs)
        while stack:
            v = stack.pop()
            for w in adj[v] - blocked - seen:
                if w in ys:
                    return False
                seen.add(w)
                stack.append(w)
        return True


def sprinkler() -> BayesNet:
    """The rain / sprinkler / wet-grass network (values: 0 = false, 1 = true)."""
    return BayesNet({
        "cloudy": ([], [0.5, 0.5]),
        "sprinkler": (["cloudy"], [[0.5, 0.5], [0.9, 0.1]]),
        "rain": (["cloudy"], [[0.8, 0.2], [0.2, 0.8]]),
        "wet": (["sprinkler", "rain"], [[[1.0, 0.0], [0.1, 0.9]],
                                        [[0.1, 0.9], [0.01, 0.99]]]),
    })


def chain() -> BayesNet:
    """``x -> z -> y``: x and y are dependent, but independent given z."""
    return BayesNet({
        "x": ([], [0.3, 0.7]),
        "z": (["x"], [[0.9, 0.1], [0.2, 0.8]]),
        "y": (["z"], [[0.6, 0.4], [0.25, 0.75]]),
    })
