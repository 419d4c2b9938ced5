"""A user's own Pyro model (and guide) as a pgm model.

:class:`Program` wraps a plain Pyro model function or ``PyroModule``, the data it is
called with (keyword arguments), and a guide: the user's own, or an automatic guide
chosen by name (:data:`AUTOGUIDES`). The wrapped pair follows pgm's protocol, so
:func:`pgm.fit` trains it with the same progress bar, checkpoints, seeding, resume and
mini-batching as the built-in models, and :func:`pgm.posterior.posterior` turns it
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
* **What a site is** (:mod:`pgm.core.sites`): latent, observed, ``pyro.deterministic``
  (a function of the others, not data), ``pyro.factor`` (a log-factor, no data), and the
  two parts of an observation with ``obs_mask=``.
* **Flat priors and supports that depend on other sites** (:mod:`pgm.core.supports`):
  flat priors start at a feasible point; a site whose support moves is sampled through a
  flat ``NAME_unconstrained`` mapped into the support of the moment.
* **Precision.** ``Program(..., dtype=torch.float64)`` runs the model and guide with
  float64 as torch's default dtype and float64 data, so their parameters are float64.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import json
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
from pgm.core.seeding import seeded
from pgm.core.sites import (
    deterministic_sites,
    enumerated,
    factor_sites,
    latent_sites,
    observed_sites,
    plate_nesting,
    sampled_sites,
)
from pgm.core.supports import (
    InitImproper,
    Unconstrain,
    _with_init,
    dependent_supports,
)
from pgm.core.tracing import trace
from pgm.errors import CheckpointError, DataError, ModelError, check_seed

#: automatic guides by the names ``pgm fit --guide`` and ``Program(guide=...)`` take
AUTOGUIDES: dict[str, type] = {
    "auto_normal": ag.AutoNormal,
    "auto_delta": ag.AutoDelta,
    "auto_diagonal_normal": ag.AutoDiagonalNormal,
    "auto_multivariate_normal": ag.AutoMultivariateNormal,
    "auto_low_rank_multivariate_normal": ag.AutoLowRankMultivariateNormal,
    "auto_iaf_normal": ag.AutoIAFNormal,
}

#: the dtypes a program may run in, by name
DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}

# ---- randomness and precision --------------------------------------------------------


def as_dtype(dtype: torch.dtype | str | None) -> torch.dtype | None:
    """``torch.float32``/``torch.float64`` from a dtype or its name; ``None`` stays ``None``.

    :raises ModelError: any other value, named.
    """
    if dtype is None:
        return None
    found = (DTYPES.get(dtype.removeprefix("torch.")) if isinstance(dtype, str)
             else dtype if dtype in DTYPES.values() else None)
    if found is None:
        raise ModelError(f"dtype: expected torch.float32, torch.float64, 'float32' or "
                         f"'float64', got {dtype!r}")
    return found


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype | None) -> Iterator[None]:
    """Make ``dtype`` torch's default floating dtype within the block (``None``: unchanged)."""
    old = torch.get_default_dtype()
    if dtype is None or dtype == old:
        yield
        return
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


# ---- loading ---------------------------------------------------------------------------


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
    if file.is_dir():
        raise ModelError(f"model: expected a Python file FILE.py, got the folder {file}")
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
    except (Exception, SystemExit) as e:  # a script's sys.exit() on import too
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


class _Batch(Messenger):
    """Feeds the indices ``idx`` to the plate called ``name`` (its subsample)."""

    def __init__(self, name: str, idx: torch.Tensor) -> None:
        super().__init__()
        self.name, self.idx = name, idx

    def _pyro_sample(self, msg) -> None:
        if msg["name"] == self.name and isinstance(msg["fn"], _Subsample):
            msg["value"], msg["done"] = self.idx, True


def as_data(data: Mapping[str, Any] | None, fn: Callable,
            dtype: torch.dtype | None = None) -> dict[str, Any]:
    """Check ``data`` (keyword arguments of ``fn``) and turn arrays into tensors.

    :param dtype: the floating dtype of floating arrays and tensors (``None``: arrays get
        torch's default dtype and tensors stay as they are).
    :raises DataError: a keyword ``fn`` does not accept, or NaN or inf values.
    """
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
            v = torch.as_tensor(a, dtype=(dtype or torch.get_default_dtype())
                                if a.dtype.kind == "f" else None)
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            if dtype is not None:
                v = v.to(dtype)
            if not torch.isfinite(v).all():
                bad = int((~torch.isfinite(v)).sum())
                raise DataError(f"data[{k!r}]: expected finite values, got {bad} NaN or inf "
                                "entries; for missing observations fill in any finite value "
                                "and pass obs_mask= to pyro.sample (True where observed)")
        out[k] = v
    return out


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
    :param seed: when given, building the program (the first trace of the model and the
        automatic guide's starting values, which are drawn) starts from this seed and
        leaves the caller's generators as they were (:func:`seeded`), so two programs
        built alike are equal; ``None`` draws from the global generators.
    :param dtype: ``torch.float64`` (or ``"float64"``) runs the model and guide with
        float64 as torch's default dtype, on float64 data, with float64 parameters (a
        ``PyroModule`` is converted in place); ``None`` leaves dtypes as they come.
    :raises ModelError: the model or guide fails when traced (the message names the site
        and the original exception is chained), their latent sites do not match, an
        observed site's support depends on latent sites under an automatic guide, or
        ``dtype`` is not a floating dtype pgm runs in.
    :raises DataError: ``data`` has keys the model does not accept, or NaN values.
    """

    name = "program"
    kind = "program"
    binary = False

    def __init__(self, model: Callable, guide: Callable | str | None = "auto_normal",
                 data: Mapping[str, Any] | None = None, *, plate: str = "data",
                 elbo: ELBO | None = None, seed: int | None = None,
                 dtype: torch.dtype | str | None = None):
        label = getattr(model, "__name__", type(model).__name__)
        dtype = as_dtype(dtype)
        extra = {"dtype": str(dtype).removeprefix("torch.")} if dtype is not None else {}
        super().__init__(shape=(1,), model=label,
                         guide=guide if isinstance(guide, str) or guide is None
                         else getattr(guide, "__name__", type(guide).__name__), **extra)
        if seed is not None:
            check_seed(seed)
        self.plate, self._elbo, self._guide_spec = plate, elbo, guide
        self.seed, self.dtype = seed, dtype
        self.__dict__["fn"] = model  # a module is registered once, as user_model
        self.data = as_data(data, model, dtype)
        self._store: dict = {"params": {}, "constraints": {}}
        #: latent sites sampled through :class:`Unconstrain` (their supports move)
        self.unconstrained: tuple[str, ...] = ()
        if isinstance(model, nn.Module):
            if dtype is not None:
                model.to(dtype)
            self.user_model = model  # its parameters become the program's
        if isinstance(guide, nn.Module) and dtype is not None:
            guide.to(dtype)
        self.user_params = nn.ParameterDict()  # pyro.param statements, in first-use order
        with seeded(seed):
            self._build(guide, label)

    def _build(self, guide: Callable | str | None, label: str) -> None:
        with self.scope(), pyro.validation_enabled(True):
            tr = trace(_with_init(self._model), self.data, f"model {label!r}", score=True)
        #: the model's latent sites, as declared (enumerated ones included)
        self.latent = latent_sites(tr)
        #: the sites that hold data (:func:`observed_sites`)
        self.observed = observed_sites(tr)
        #: ``pyro.deterministic`` sites (:func:`deterministic_sites`)
        self.deterministic = deterministic_sites(tr)
        #: ``pyro.factor`` sites: part of the joint density, neither data nor latent
        self.factors = factor_sites(tr)
        self.enumerated = enumerated(tr)
        self.max_plate_nesting = plate_nesting(tr)
        sub = tr.nodes.get(self.plate)
        #: examples in the plate that mini-batches subsample (1: no such plate)
        self.num_data = int(sub["fn"].size) if sub and isinstance(sub["fn"], _Subsample) else 1
        self.defaults = {"epochs": 1000, "lr": 0.01, "log_every": 100,
                         "batch_size": self.num_data, "eval_batch_size": self.num_data}

        if isinstance(guide, str):
            cls = autoguide_class(guide)
            with self.scope(), pyro.validation_enabled(False):
                moving, observed = dependent_supports(self._model, self.data)
            if observed:
                raise ModelError(
                    f"model {label!r}: the support of the observed site(s) {observed} depends "
                    f"on latent sites; an automatic guide ({guide}) cannot keep the latent "
                    "sites where every observation lies in that support, so the ELBO would be "
                    "-inf. Write a guide that does, or reparameterize (e.g. an upper bound "
                    "theta as max(data) + a positive excess)")
            self.unconstrained = tuple(s for s in moving if s not in self.enumerated)
            if self.unconstrained:
                with self.scope(), pyro.validation_enabled(True):
                    tr = trace(_with_init(self._model), self.data, f"model {label!r}")
            self.auto = cls(InitImproper()(poutine.block(self._model, hide=self.enumerated)))
            self.__dict__["_guide_fn"] = self.auto
        elif guide is None:
            if [s for s in self.latent if s not in self.enumerated]:
                raise ModelError(f"guide: the model has latent sites "
                                 f"{[s for s in self.latent if s not in self.enumerated]} "
                                 "that are not enumerated; pass a guide function or an "
                                 f"automatic guide name ({', '.join(AUTOGUIDES)})")
            self.__dict__["_guide_fn"] = _empty
        else:
            if isinstance(guide, nn.Module):
                self.user_guide = guide
            self.__dict__["_guide_fn"] = guide
        #: the sites the guide samples (latent sites not enumerated, through
        #: ``NAME_unconstrained`` for :attr:`unconstrained` ones)
        self._guided = [s for s in sampled_sites(tr) if s not in self.enumerated]
        with self.scope(), pyro.validation_enabled(True):
            gtr = trace(self._guide_fn, self.data, "guide")
        self._check_sites(sampled_sites(gtr))
        self._adopt_params()

    # -- the private parameter store -------------------------------------------------
    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """Run Pyro code against this program's own parameters (in its :attr:`dtype`)."""
        with default_dtype(self.dtype), pyro.get_param_store().scope(self._store) as state:
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

        For queries on new records with their observations (posteriors of their local
        latent sites). The guide is rebuilt as this one was; parameters whose shapes
        depend on the data (an automatic guide's local sites) do not carry over, and
        ``load_state_dict`` says so. For predictions at new inputs, without observations,
        use :func:`pgm.posterior.predict`.

        :raises ModelError: ``data`` leaves a site that this program observes without
            values (it would become latent, and the guide would no longer fit).
        """
        values = as_data(data, self.fn, self.dtype)
        with self.scope(), seeded(0), pyro.validation_enabled(True):
            tr = trace(_with_init(self._model), values, f"model {self.config['model']!r}")
        lost = [s for s in self.observed if s in latent_sites(tr)]
        if lost:
            raise ModelError(
                f"data: the program observes {lost}, which data={sorted(data)} leaves without "
                "values; with_data is for new records with their observations. For "
                "predictions at new inputs use pgm.posterior.predict(program, data)")
        new = Program(self.fn, self._guide_spec, data, plate=self.plate, elbo=self._elbo,
                      seed=self.seed, dtype=self.dtype)
        new.load_state_dict(self.state_dict())
        return new

    def param(self, name: str) -> torch.Tensor:
        """The constrained value of the program's ``pyro.param`` called ``name``."""
        with self.scope():
            return pyro.param(name).detach()

    @property
    def guided(self) -> list[str]:
        """The latent sites a guide must sample: those not enumerated (a site whose support
        moves as ``NAME_unconstrained`` under an automatic guide, :class:`Unconstrain`)."""
        return list(self._guided)

    def _check_sites(self, guided: list[str]) -> None:
        need = self.guided
        missing = [s for s in need if s not in guided]
        extra = [s for s in guided if s not in need and s not in self.enumerated]
        if missing or extra:
            raise ModelError(
                "guide: its sample sites must be the model's latent sites "
                f"{need}; " + "; ".join(m for m in (
                    f"missing {missing}" if missing else "",
                    f"not in the model {extra}" if extra else "") if m))

    # -- the protocol ------------------------------------------------------------------
    def _model(self, **data: Any) -> Any:
        if self.unconstrained:
            with Unconstrain(self.unconstrained):
                return self.fn(**data)
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
        raise NotImplementedError("a Program has no log_prob; use pgm.posterior.posterior")

    def sample(self, n: int) -> torch.Tensor:
        raise NotImplementedError("a Program has no sample; use pgm.posterior.posterior")

    def extra_repr(self) -> str:
        return (f"model={self.config['model']}, guide={self.config['guide']}, "
                f"latent={self.latent}, observed={self.observed}, "
                f"deterministic={self.deterministic}, num_data={self.num_data}")


def _empty(**data: Any) -> None:
    """The guide of a model whose latent sites are all enumerated."""


#: the file of a ``pgm fit`` run that says which program it fitted
PROGRAM_JSON = "program.json"


def read_spec(run: str | Path) -> dict[str, Any]:
    """The ``program.json`` of the ``pgm fit`` run in the folder ``run``.

    :raises CheckpointError: no such file, not JSON, or no ``model`` key in it.
    """
    file = Path(run) / PROGRAM_JSON
    if not file.is_file():
        raise CheckpointError(f"{run}: no {PROGRAM_JSON}; expected the directory of a "
                              "`pgm fit` run")
    try:
        spec = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{file}: not valid JSON ({e})") from e
    if not isinstance(spec, dict) or not isinstance(spec.get("model"), str):
        raise CheckpointError(f"{file}: expected an object with the key 'model' (FILE.py:NAME); "
                              "the file is damaged or not pgm's")
    return spec


def from_spec(spec: Mapping[str, Any]) -> Program:
    """Build the program of a ``pgm fit`` run from its ``program.json`` fields.

    * ``model``: ``"file.py:NAME"``;
    * ``guide``: a function of that file, an automatic guide's name, ``"none"`` (every
      latent site enumerated) or absent: the file's own ``guide`` if it has one, else
      ``auto_normal``;
    * ``data``: a ``.csv``/``.npz`` file whose columns or arrays are the model's keyword
      arguments (:func:`pgm.data.readers.read_table`), and ``set``: further ones;
    * ``plate``: the plate that mini-batches subsample (``"data"``);
    * ``seed``: builds the program deterministically (:class:`Program`), absent: not;
    * ``dtype``: ``"float64"`` runs it in float64 (:class:`Program`), absent: as it comes.

    The guide actually used is ``program.config["guide"]``.
    """
    from pgm.data.readers import read_table, with_extras

    fn, module = load_source(spec["model"])
    guide = spec.get("guide") or ("guide" if callable(getattr(module, "guide", None))
                                  else "auto_normal")
    if guide == "none":
        guide = None
    elif callable(getattr(module, guide, None)):
        guide = getattr(module, guide)
    data = with_extras(read_table(spec["data"]) if spec.get("data") else {}, spec.get("set", {}))
    return Program(fn, guide, data, plate=spec.get("plate") or "data", seed=spec.get("seed"),
                   dtype=spec.get("dtype"))
