"""A user's own Pyro model (and guide) as a pgm model.

:class:`Program` wraps a plain Pyro model function or ``PyroModule``, the data it is
called with (keyword arguments), and a guide: the user's own, or an automatic guide
chosen by name (:data:`AUTOGUIDES`). The wrapped pair follows pgm's protocol, so
:func:`pgm.fit` trains it with the same progress bar, checkpoints, seeding, resume and
mini-batching as the built-in models, and :func:`pgm.inspect.posterior` turns it
into ArviZ ``InferenceData``.

Conventions:

* **Mini-batches.** The model indexes its data with the indices of a plate named
  ``"data"`` (or ``plate=``)::

      with pyro.plate("data", len(x)) as i:
          pyro.sample("obs", dist.Bernoulli(p), obs=x[i])

  Called plainly, ``i`` is every index; during training pgm feeds the plate each
  mini-batch's indices, and Pyro scales the plate's log-densities by ``N / batch``.
  Models without such a plate are fitted on all their data at every step.
* **Discrete latents** marked for enumeration (``infer={"enumerate": "parallel"}`` or
  ``config_enumerate``) are summed out: the ELBO becomes ``TraceEnum_ELBO`` and
  automatic guides are built over the other latent sites only.
* **Parameters.** ``pyro.param`` statements and ``PyroModule`` parameters live in a
  parameter store private to the program (``ParamStoreDict.scope``), so two programs
  never share parameters; they are the program's ``parameters()`` and ``state_dict()``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyro
import pyro.infer.autoguide as ag
import torch
from pyro import poutine
from pyro.infer import ELBO, Trace_ELBO, TraceEnum_ELBO
from pyro.poutine.messenger import Messenger
from pyro.poutine.subsample_messenger import _Subsample
from torch import nn

from pgm.core.base import GenerativeModel
from pgm.errors import DataError, PGMError

#: automatic guides by the names ``pgm fit --guide`` and ``Program(guide=...)`` take
AUTOGUIDES: dict[str, type] = {
    "auto_normal": ag.AutoNormal,
    "auto_delta": ag.AutoDelta,
    "auto_diagonal_normal": ag.AutoDiagonalNormal,
    "auto_multivariate_normal": ag.AutoMultivariateNormal,
    "auto_low_rank_multivariate_normal": ag.AutoLowRankMultivariateNormal,
    "auto_iaf_normal": ag.AutoIAFNormal,
}


class ModelError(PGMError):
    """A user's model or guide that fails when traced, or that does not fit its data."""


def load_source(spec: str) -> tuple[Callable, Any]:
    """The function ``NAME`` of the Python file in ``"path/to/file.py:NAME"``.

    :returns: ``(function, module)``; the module is loaded under a private name so that
        two files called alike do not collide.
    :raises ModelError: a malformed spec, a missing file, a file that fails on import
        (the user's own exception is chained and shown), or no callable ``NAME`` in it.
    """
    path, sep, name = spec.rpartition(":")
    if not sep or not path or not name:
        raise ModelError(f"model: expected FILE.py:NAME, got {spec!r}")
    file = Path(path)
    if not file.is_file():
        raise ModelError(f"model: the file {file} does not exist")
    modname = f"_pgm_user_{abs(hash(str(file.resolve()))):x}"
    module_spec = importlib.util.spec_from_file_location(modname, file)
    if module_spec is None or module_spec.loader is None:
        raise ModelError(f"model: {file} is not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[modname] = module  # dataclasses and pickling look modules up by name
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[modname]
        raise ModelError(f"model: importing {file} raised {type(e).__name__}: {e}") from e
    fn = getattr(module, name, None)
    if not callable(fn):
        found = sorted(k for k, v in vars(module).items()
                       if callable(v) and not k.startswith("_")
                       and getattr(v, "__module__", None) == modname)
        raise ModelError(f"model: {file} has no function {name!r}; it defines {found}")
    return fn, module


def autoguide_class(name: str) -> type:
    """The automatic guide called ``name`` (``"auto_normal"`` or ``"AutoNormal"``)."""
    by_class = {cls.__name__.lower(): key for key, cls in AUTOGUIDES.items()}
    key = by_class.get(name.lower().replace("_", ""), name)
    if key not in AUTOGUIDES:
        raise ModelError(f"guide: expected a function or one of {sorted(AUTOGUIDES)}, "
                         f"got {name!r}")
    return AUTOGUIDES[key]


class _Where(Messenger):
    """Remembers the site being processed, to say where a traced program failed."""

    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None
        self.last: str | None = None

    def _process_message(self, msg) -> None:
        self.current = msg["name"]

    def _postprocess_message(self, msg) -> None:
        self.current, self.last = None, msg["name"]

    def where(self) -> str:
        if self.current is not None:
            return f"at site {self.current!r}"
        return f"after site {self.last!r}" if self.last else "before its first site"


def trace(fn: Callable, kwargs: Mapping[str, Any], what: str,
          score: bool = False) -> poutine.Trace:
    """``poutine.trace(fn)`` on ``kwargs``; a failure names ``what`` and the site.

    :param score: also compute every site's log-density, so that values a distribution
        cannot score (integers observed by a Bernoulli, a value outside the support) fail
        here rather than in the first training step.
    """
    where = _Where()
    try:
        with where:
            tr = poutine.trace(fn).get_trace(**kwargs)
    except Exception as e:
        raise ModelError(f"{what} raised {type(e).__name__} {where.where()}: {e}") from e
    if score:
        try:
            tr.compute_log_prob()
        except Exception as e:  # Pyro's message names the site and its shapes
            raise ModelError(f"{what}: {type(e).__name__}: {e}") from e
    return tr


class _Batch(Messenger):
    """Feeds the indices ``idx`` to the plate called ``name`` (its subsample)."""

    def __init__(self, name: str, idx: torch.Tensor) -> None:
        super().__init__()
        self.name, self.idx = name, idx

    def _pyro_sample(self, msg) -> None:
        if msg["name"] == self.name and isinstance(msg["fn"], _Subsample):
            msg["value"], msg["done"] = self.idx, True


def as_data(data: Mapping[str, Any] | None, fn: Callable) -> dict[str, Any]:
    """Check ``data`` (keyword arguments of ``fn``) and turn arrays into tensors."""
    data = dict(data or {})
    params = inspect.signature(fn).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        accepted = [k for k, p in params.items()
                    if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        unknown = sorted(set(data) - set(accepted))
        if unknown:
            raise DataError(f"data: the model accepts the keyword arguments {accepted}, "
                            f"got also {unknown}")
    out = {}
    for k, v in data.items():
        if isinstance(v, (np.ndarray, list, tuple)):
            a = np.asarray(v)
            v = torch.as_tensor(a, dtype=torch.get_default_dtype()
                                if a.dtype.kind == "f" else None)
        if isinstance(v, torch.Tensor) and v.is_floating_point() and not torch.isfinite(v).all():
            bad = int((~torch.isfinite(v)).sum())
            raise DataError(f"data[{k!r}]: expected finite values, got {bad} NaN or inf entries")
        out[k] = v
    return out


def enumerated(tr: poutine.Trace) -> list[str]:
    """Sample sites of ``tr`` marked for parallel enumeration."""
    return [n for n, s in tr.nodes.items() if s["type"] == "sample"
            and s["infer"].get("enumerate") == "parallel" and not s["is_observed"]]


def latent_sites(tr: poutine.Trace) -> list[str]:
    """Unobserved sample sites of ``tr``, plates' subsample sites and auxiliaries left out."""
    return [n for n, s in tr.nodes.items() if s["type"] == "sample" and not s["is_observed"]
            and not isinstance(s["fn"], _Subsample)
            and not s["infer"].get("is_auxiliary")]


def observed_sites(tr: poutine.Trace) -> list[str]:
    return [n for n, s in tr.nodes.items() if s["type"] == "sample" and s["is_observed"]]


def plate_nesting(tr: poutine.Trace) -> int:
    """How many batch dimensions the model's plates use (``max_plate_nesting``)."""
    return max((-f.dim for s in tr.nodes.values() if s["type"] == "sample"
                for f in s["cond_indep_stack"] if f.vectorized and f.dim is not None),
               default=0)


class Program(GenerativeModel):
    """A user's Pyro model, its data and a guide, trainable by :func:`pgm.fit`.

    :param model: a Pyro model function or ``PyroModule``, called as ``model(**data)``.
    :param guide: a guide function or ``PyroModule`` with the model's signature, the name
        of an automatic guide (:data:`AUTOGUIDES`), or ``None`` when every latent site is
        enumerated (or there are none).
    :param data: the model's keyword arguments: tensors, arrays or anything else.
    :param plate: the name of the plate over examples that mini-batches subsample.
    :param elbo: the ELBO to use; by default ``TraceEnum_ELBO`` when discrete sites are
        enumerated, else ``Trace_ELBO``.
    :raises ModelError: the model or guide fails when traced (the message names the site
        and the original exception is chained), or their latent sites do not match.
    :raises DataError: ``data`` has keys the model does not accept, or NaN values.
    """

    name = "program"
    kind = "program"
    binary = False

    def __init__(self, model: Callable, guide: Callable | str | None = "auto_normal",
                 data: Mapping[str, Any] | None = None, *, plate: str = "data",
                 elbo: ELBO | None = None):
        label = getattr(model, "__name__", type(model).__name__)
        super().__init__(shape=(1,), model=label,
                         guide=guide if isinstance(guide, str) or guide is None
                         else getattr(guide, "__name__", type(guide).__name__))
        self.plate, self._elbo, self._guide_spec = plate, elbo, guide
        self.__dict__["fn"] = model  # a module is registered once, as user_model
        self.data = as_data(data, model)
        self._store: dict = {"params": {}, "constraints": {}}
        if isinstance(model, nn.Module):
            self.user_model = model  # its parameters become the program's
        self.user_params = nn.ParameterDict()  # pyro.param statements, in first-use order

        with self.scope(), pyro.validation_enabled(True):
            tr = trace(self._model, self.data, f"model {label!r}", score=True)
        self.latent, self.observed = latent_sites(tr), observed_sites(tr)
        self.enumerated = enumerated(tr)
        self.max_plate_nesting = plate_nesting(tr)
        sub = tr.nodes.get(plate)
        #: examples in the plate that mini-batches subsample (1: no such plate)
        self.num_data = int(sub["fn"].size) if sub and isinstance(sub["fn"], _Subsample) else 1
        self.defaults = {"epochs": 1000, "lr": 0.01, "log_every": 100,
                         "batch_size": self.num_data, "eval_batch_size": self.num_data}

        if isinstance(guide, str):
            cls = autoguide_class(guide)
            self.auto = cls(poutine.block(self._model, hide=self.enumerated))
            self.__dict__["_guide_fn"] = self.auto
        elif guide is None:
            if self.guided:
                raise ModelError(f"guide: the model has latent sites {self.guided} that are not "
                                 "enumerated; pass a guide function or an automatic guide "
                                 f"name ({', '.join(AUTOGUIDES)})")
            self.__dict__["_guide_fn"] = _empty
        else:
            if isinstance(guide, nn.Module):
                self.user_guide = guide
            self.__dict__["_guide_fn"] = guide
        with self.scope(), pyro.validation_enabled(True):
            gtr = trace(self._guide_fn, self.data, "guide")
        self._check_sites(latent_sites(gtr))
        self._adopt_params()

    # -- the private parameter store -------------------------------------------------
    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """Run Pyro code against this program's own parameters."""
        with pyro.get_param_store().scope(self._store) as state:
            yield
        self._store = state

    def _adopt_params(self) -> None:
        """Make the store's ``pyro.param`` tensors the program's own ``nn.Parameter``s."""
        mine = {id(p) for p in self.parameters()}
        for name, t in list(self._store["params"].items()):
            if id(t) in mine:
                continue
            p = t if isinstance(t, nn.Parameter) else nn.Parameter(t.detach())
            self._store["params"][name] = p
            self.user_params[str(len(self.user_params))] = p

    def with_data(self, **data: Any) -> Program:
        """The fitted model on other data: a new program with this one's parameters.

        For queries on new records (posteriors of their local latent sites). The guide is
        rebuilt as this one was; parameters whose shapes depend on the data (an automatic
        guide's local sites) do not carry over, and ``load_state_dict`` says so.
        """
        guide = self._guide_spec
        new = Program(self.fn, guide, data, plate=self.plate, elbo=self._elbo)
        new.load_state_dict(self.state_dict())
        return new

    def param(self, name: str) -> torch.Tensor:
        """The constrained value of the program's ``pyro.param`` called ``name``."""
        with self.scope():
            return pyro.param(name).detach()

    @property
    def guided(self) -> list[str]:
        """The latent sites a guide must sample: those not enumerated."""
        return [s for s in self.latent if s not in self.enumerated]

    def _check_sites(self, guided: list[str]) -> None:
        need = self.guided
        missing = [s for s in need if s not in guided]
        extra = [s for s in guided if s not in self.latent]
        if missing or extra:
            raise ModelError(
                "guide: its sample sites must be the model's latent sites "
                f"{need}; " + "; ".join(m for m in (
                    f"missing {missing}" if missing else "",
                    f"not in the model {extra}" if extra else "") if m))

    # -- the protocol ------------------------------------------------------------------
    def _model(self, **data: Any) -> Any:
        return self.fn(**data)

    def _run(self, fn: Callable, idx: torch.Tensor | None, num_data: int | None) -> Any:
        batch = idx is not None and num_data is not None and len(idx) < self.num_data
        with self.scope(), (_Batch(self.plate, idx) if batch else contextlib.nullcontext()):
            return fn(**self.data)

    def model(self, idx: torch.Tensor | None = None, num_data: int | None = None) -> Any:
        """The user's model on the examples ``idx`` of the plate (all when ``None``)."""
        return self._run(self._model, idx, num_data)

    def guide(self, idx: torch.Tensor | None = None, num_data: int | None = None) -> Any:
        return self._run(self._guide_fn, idx, num_data)

    def elbo(self) -> ELBO:
        if self._elbo is not None:
            return self._elbo
        if self.enumerated:
            return TraceEnum_ELBO(max_plate_nesting=self.max_plate_nesting)
        return Trace_ELBO()

    def indices(self) -> torch.Tensor:
        """What :func:`pgm.fit` iterates over: the plate's example indices ``(N,)``."""
        return torch.arange(self.num_data)

    def check(self, x: object, name: str = "x") -> torch.Tensor:
        ok = (isinstance(x, torch.Tensor) and x.dim() == 1 and not x.is_floating_point()
              and len(x) > 0 and int(x.min()) >= 0 and int(x.max()) < self.num_data)
        if not ok:
            raise DataError(f"{name}: expected indices into the plate {self.plate!r} "
                            f"(integers in [0, {self.num_data})), got {x!r:.80}")
        return x

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("a Program has no log_prob; use pgm.inspect.posterior")

    def sample(self, n: int) -> torch.Tensor:
        raise NotImplementedError("a Program has no sample; use pgm.inspect.posterior")

    def extra_repr(self) -> str:
        return (f"model={self.config['model']}, guide={self.config['guide']}, "
                f"latent={self.latent}, observed={self.observed}, num_data={self.num_data}")


def _empty(**data: Any) -> None:
    """The guide of a model whose latent sites are all enumerated."""


def from_spec(spec: Mapping[str, Any]) -> Program:
    """Build the program of a ``pgm fit`` run from its ``program.json`` fields.

    * ``model``: ``"file.py:NAME"``;
    * ``guide``: a function of that file, an automatic guide's name, ``"none"`` (every
      latent site enumerated) or absent: the file's own ``guide`` if it has one, else
      ``auto_normal``;
    * ``data``: a ``.csv``/``.npz`` file whose columns or arrays are the model's keyword
      arguments (:func:`pgm.data.readers.read_table`), and ``set``: further ones;
    * ``plate``: the plate that mini-batches subsample (``"data"``).

    The guide actually used is ``program.config["guide"]``.
    """
    from pgm.data.readers import read_table

    fn, module = load_source(spec["model"])
    guide = spec.get("guide") or ("guide" if callable(getattr(module, "guide", None))
                                  else "auto_normal")
    if guide == "none":
        guide = None
    elif callable(getattr(module, guide, None)):
        guide = getattr(module, guide)
    data = {**(read_table(spec["data"]) if spec.get("data") else {}), **spec.get("set", {})}
    return Program(fn, guide, data, plate=spec.get("plate") or "data")
