"""The ``pgm`` command line: demo, list, train, eval, sample, fit, inspect, predict, data.

Every sub-command has ``--help``. Errors that pgm raises on purpose print as
one line ``pgm: error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
import warnings
from pathlib import Path

import torch

from pgm import data as pgm_data
from pgm.core import build, get, names
from pgm.core.base import evaluating
from pgm.core.program import PROGRAM_JSON, read_spec
from pgm.core.registry import settings as model_settings
from pgm.core.seeding import seeded
from pgm.errors import PGMError, PGMWarning, check_seed
from pgm.infer import checkpoint, evaluate, fit, rundir
from pgm.infer.loop import RESUMABLE, Interrupted, TrainConfig, changed_settings, regime_of
from pgm.io import atomic_write, file_in_the_way
from pgm.viz import save_grid

#: what ``pgm train`` records of its command line, to resume the run on the same data
RUN_JSON = "run.json"


def _settings(pairs: list[tuple[str, object]], flag: str = "--set") -> dict:
    """``--set`` pairs as a dict; a key given twice is refused (which one was meant?)."""
    out: dict = {}
    for k, v in pairs:
        if k in out and out[k] != v:
            raise PGMError(f"{flag} {k}: given twice, as {out[k]!r} and {v!r}")
        out[k] = v
    return out


def _kv(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set: expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def _seed(text: str) -> int:
    try:
        return check_seed(int(text), "--seed")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer in [0, 2**32), got {text!r}") from None


def _folder(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder name, got an empty string")
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _load_split(args, split: str, binary: bool) -> pgm_data.Dataset:
    """Grey data are binarized for binary models and dequantized for continuous ones."""
    return pgm_data.load(args.data, split, data_dir=args.data_dir, binarize=binary,
                         dequantize=not binary, limit=getattr(args, "limit", None))


def _last(out: Path) -> dict:
    """On ``--resume``: the run's ``last.pt``, read once for every check."""
    if not (out / checkpoint.LAST).is_file():
        raise PGMError(f"--resume: {out} holds no run to resume (no {checkpoint.LAST})")
    return checkpoint.load(out, checkpoint.LAST)


def _recorded(args, out: Path, ckpt: dict) -> dict:
    """On ``--resume``: the run's own data and limit (``run.json``), in ``args`` where they
    were left out; a value given that differs from the run's is refused."""
    file = out / RUN_JSON
    run = json.loads(file.read_text()) if file.is_file() else {
        "data": ckpt.get("data") or None, "limit": args.limit}
    for flag, key in (("--data", "data"), ("--limit", "limit")):
        given = getattr(args, key)
        if given is not None and given != run.get(key):
            raise PGMError(f"{flag}: the run in {out} was trained with {flag} {run.get(key)}; "
                           f"resuming with {given} would change its data; leave {flag} out "
                           "to resume on the run's own")
        setattr(args, key, run.get(key))
    return run


def _run_folder(args, name: str) -> Path:
    """``--out``, or a new folder ``runs/NAME-YYYYmmdd-HHMMSS`` (printed) when it is left
    out; ``--resume`` must name the run."""
    if args.out is not None:
        return Path(args.out)
    if args.resume:
        raise PGMError("--resume: expected --out, the folder of the run to continue")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out, k = Path("runs") / f"{name}-{stamp}", 1
    while out.exists():  # two runs started within a second
        k += 1
        out = Path("runs") / f"{name}-{stamp}-{k}"
    print(f"run folder: {out}", file=sys.stderr)
    return out


def _same_settings(out: Path, ckpt: dict, settings: dict, allowed: tuple[str, ...]) -> None:
    """On ``--resume``: a training setting other than the run's is refused, by its option
    (``allowed``: the settings that may change, the regime's ``resumable``)."""
    saved = ckpt["train_config"]
    changed = changed_settings(saved, settings, allowed)
    if changed:
        k, old, new = changed[0]
        flag = "--" + k.replace("_", "-")
        may = ", ".join("--" + a.replace("_", "-") for a in allowed if a != "log_every")
        raise PGMError(f"{flag} {new}: the run in {out} was trained with {flag} {old}; only "
                       f"{may} may change on resuming")


def _check_same_config(args, model) -> None:
    """``--set`` on ``--resume``: refused where it differs from the run's model settings."""
    params = model_settings(type(model))
    for key, value in _settings(args.set).items():
        if key not in params:
            raise PGMError(f"--set {key}: {model.name!r} has no setting {key!r}")
        saved = model.config.get(key, params[key].default)
        if (list(saved) if isinstance(saved, tuple) else saved) != (
                list(value) if isinstance(value, tuple) else value):
            raise PGMError(f"--set {key}={value!r}: the run in {args.out} was built with "
                           f"{key}={saved!r}; a model's settings cannot change on resuming")


def _describe(cls) -> str:
    """The first sentence of a model's docstring, on one line."""
    doc = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split()).replace("``", "")
    end = doc.find(". ")
    return doc if end < 0 else doc[: end + 1]


# ---- sub-commands ---------------------------------------------------------------------


def cmd_list(args) -> int:
    """The models, a line each; with a name, that model's ``--set`` keys and defaults."""
    if args.name is None:
        for name in names():
            cls = get(name)
            print(f"{name:<12} {cls.kind:<9} {_describe(cls)}")
        return 0
    cls = get(args.name)
    print(f"{args.name} ({cls.kind}): {_describe(cls)}")
    print("model settings (--set KEY=VALUE):")
    for key, p in model_settings(cls).items():
        if key != "shape":  # from the data
            print(f"  {key} = {p.default!r}")
    if cls.defaults:
        print("training defaults: " + ", ".join(f"--{k.replace('_', '-')} {v}"
                                                for k, v in cls.defaults.items()))
    return 0


#: the training options of ``pgm train``; each regime takes those its config has
TRAIN_FLAGS = ("epochs", "batch_size", "lr", "lr_decay", "seed", "patience", "checkpoint_every",
               "clip_norm", "max_seconds", "lr_d", "d_steps", "sample_every", "ema")


def cmd_train(args) -> int:
    """Train a registered model by its regime (SVI; the game for a GAN): the model says
    how it is trained (``trainer``), what its data suggest (``data_settings``), what it
    trains on (``training_data``) and what its grid shows (``preview``)."""
    cls = get(args.model)
    regime = regime_of(cls)
    given = [f"--{k.replace('_', '-')}" for k in TRAIN_FLAGS
             if getattr(args, k) is not None and k not in regime.config.__dataclass_fields__]
    if given:
        raise PGMError(f"{', '.join(given)}: not a setting of {regime.name} training, which "
                       f"trains {args.model!r}; see pgm train --help")
    out = _run_folder(args, args.model)
    last = _last(out) if args.resume else None
    if last is not None:
        _recorded(args, out, last)
    if args.data is None:
        raise PGMError(f"--data: expected one of {pgm_data.names()} (the data set to train "
                       "on), got nothing")
    settings = {k: v for k, v in vars(args).items()
                if k in regime.config.__dataclass_fields__ and v is not None}
    settings["progress"] = not args.no_progress
    if last is not None:
        _same_settings(out, last, settings, regime.resumable)
    else:
        regime.config(**{**cls.defaults, **settings})  # bad settings fail before any work
    # everything that can fail on the user's input fails before the run folder is touched
    train = _load_split(args, "train", cls.binary)
    valid = _load_split(args, "valid", cls.binary) if regime.validates else None
    if last is not None:
        model = checkpoint.rebuild(last)
        if model.name != args.model:
            raise PGMError(f"--resume: {out} holds a {model.name!r} run, not {args.model!r}")
        _check_same_config(args, model)
    else:
        config = _settings(args.set)
        model = build(args.model, seed=settings.get("seed", TrainConfig.seed),
                      shape=train.shape, **{**cls.data_settings(train, config), **config})
    # a model may train on more than the images: captions of their labels, another domain
    x, condition = model.training_data(train)
    model.check(x, "train")
    with rundir.claim(out, resume=args.resume, overwrite=args.overwrite, flag="--out"):
        if not args.resume:
            with atomic_write(out / RUN_JSON) as f:
                f.write(json.dumps({"model": args.model, "data": args.data,
                                    "limit": args.limit, "set": _settings(args.set)},
                                   indent=1).encode())
        sizes = f"{len(x)} train" + (f" / {len(valid)} valid" if valid is not None else "")
        print(f"training {model.name} ({model.num_parameters:,} parameters, {regime.name} "
              f"training) on {args.data} ({sizes}) -> {out}", file=sys.stderr)
        try:
            summary = fit(model, x, None if valid is None else valid.x, condition=condition,
                          out=out, resume=args.resume, data_name=args.data, **settings)
        except Interrupted as e:
            print(f"pgm: {e}", file=sys.stderr)
            return 130
        print(regime.describe(summary))
        with torch.no_grad(), evaluating(model), seeded(summary["config"]["seed"]):
            grid = model.preview(min(64, len(x)), lambda: (x, condition))
        save_grid(grid, model.shape, out / "samples.png")
    return 0


def _eval_scores(args, model, ckpt) -> int:
    """``pgm eval`` of a GAN that reads real images (translators, Puzzle-GAN): its outputs
    for the split's images checked against them (``model.scores``)."""
    ds = _load_split(args, args.split, model.binary)
    t0 = time.perf_counter()
    result = model.scores(ds.x)
    result.update(model=model.name, config=model.config, data=args.data, split=args.split,
                  n=len(ds), checkpoint=ckpt["path"], train_seconds=ckpt["state"]["seconds"],
                  eval_seconds=time.perf_counter() - t0, num_parameters=model.num_parameters)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        figures = ", ".join(f"{k} {v:.4f}" for k, v in result.items()
                            if isinstance(v, float) and k not in ("train_seconds",
                                                                   "eval_seconds"))
        print(f"{model.name} on {args.data}/{args.split} ({len(ds)} images): {figures}")
    return 0


def _eval_samples(args, model, ckpt) -> int:
    """``pgm eval`` of a model without likelihood: sample-quality metrics (pgm.metrics)."""
    from pgm.metrics import LABELLED, classifier, sample_quality

    if args.data not in LABELLED:
        raise PGMError(f"{model.name} is an implicit model: it has no likelihood, and pgm "
                       f"has no classifier to judge samples of {args.data!r}")
    ds = _load_split(args, args.split, model.binary)
    t0 = time.perf_counter()
    clf, info = classifier(args.data, cache=args.classifier_cache, data_dir=args.data_dir)
    n = len(ds)
    with torch.no_grad(), seeded(args.seed):
        fake = torch.cat([model.sample(min(1000, n - i)) for i in range(0, n, 1000)])
    other = "valid" if args.split != "valid" else "test"
    reference = _load_split(args, other, model.binary).x  # a random subset of another split
    reference = reference[torch.randperm(len(reference),
                                         generator=torch.Generator().manual_seed(0))[:n]]
    result = sample_quality(fake, ds.x, clf)
    result.update(frechet_distance_real=sample_quality(reference, ds.x, clf)["frechet_distance"],
                  classifier=info, model=model.name, config=model.config, data=args.data,
                  split=args.split, checkpoint=ckpt["path"],
                  train_seconds=ckpt["state"]["seconds"],
                  eval_seconds=time.perf_counter() - t0, num_parameters=model.num_parameters,
                  note="no likelihood (implicit model); Frechet distance in the features of "
                       "pgm's own small classifier, not the Inception FID of papers")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        shares = " ".join(f"{c:.2f}" for c in result["class_coverage"])
        print(f"{model.name} on {args.data}/{args.split} ({n} samples; no likelihood): "
              f"Frechet distance {result['frechet_distance']:.1f} in pgm's classifier features "
              f"({other} split vs {args.split}: {result['frechet_distance_real']:.1f}; not "
              f"Inception FID), classes covered {result['classes_covered']}/"
              f"{len(result['class_coverage'])}, class shares {shares}")
    return 0


def _run_data(args, ckpt: dict) -> None:
    """``--data`` by default the data set the run was trained on."""
    if args.data is None:
        args.data = ckpt.get("data") or None
        if args.data not in pgm_data.names():
            raise PGMError(f"--data: {ckpt['path']} does not record a data set pgm knows "
                           f"({args.data!r}); name one of {pgm_data.names()}")


def _eval_likelihood(args, model, ckpt) -> int:
    """``pgm eval`` of a model with a likelihood: NLL in nats and bits/dim."""
    ds = _load_split(args, args.split, model.binary)
    t0 = time.perf_counter()
    result = evaluate(model, ds.x, seed=args.seed)
    result.update(model=model.name, config=model.config, data=args.data, split=args.split,
                  checkpoint=ckpt["path"], train_seconds=ckpt["state"]["seconds"],
                  eval_seconds=time.perf_counter() - t0, num_parameters=model.num_parameters)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{model.name} on {args.data}/{args.split} ({result['n']} images): "
              f"NLL {result['nll_nats']:.2f} nats, {result['bits_per_dim']:.4f} bits/dim")
    return 0


#: how ``pgm eval`` judges a model, by the name its class gives (``model.evaluation``)
EVALUATIONS = {"likelihood": _eval_likelihood, "samples": _eval_samples,
               "scores": _eval_scores}


def cmd_eval(args) -> int:
    """Evaluate a run on a split the way its model asks (``evaluation``)."""
    model, ckpt = checkpoint.load_model(args.dir, *_checkpoint(args))
    _run_data(args, ckpt)
    return EVALUATIONS[model.evaluation](args, model, ckpt)


def _output_file(text: str, suffix: str) -> Path:
    """``--out`` as a file to write whose name ends in ``suffix`` (``".png"``), checked
    before any work: not a folder, not under a file."""
    path = Path(text)
    if path.is_dir():
        raise PGMError(f"--out: expected a {suffix[1:].upper()} file to write, got the folder "
                       f"{path}")
    if path.suffix.lower() != suffix:
        raise PGMError(f"--out: expected a file name ending in {suffix}, got {text!r}")
    blocker = file_in_the_way(path.parent)
    if blocker is not None:
        raise PGMError(f"--out: cannot write {path}: {blocker} is a file, not a folder")
    return path


def cmd_sample(args) -> int:
    if args.out is None:  # beside the checkpoint
        run = Path(args.dir)
        folder = run if run.is_dir() else run.parent
        args.out = str(folder / f"sample-{args.n}-seed{args.seed}.png")
    out = _output_file(args.out, ".png")
    model, ckpt = checkpoint.load_model(args.dir, *_checkpoint(args))

    def data():  # for a model that generates from real images: the run's data set
        _run_data(args, ckpt)
        return model.training_data(_load_split(args, args.split, model.binary))

    with torch.no_grad(), seeded(args.seed):
        x = model.preview(args.n, data)
    print(save_grid(x, model.shape, out))
    return 0


def cmd_demo(args) -> int:
    """Fit two models to the built-in shapes and compare their test NLL."""
    out = Path(args.out)
    train, valid, test = (pgm_data.load("shapes", s) for s in ("train", "valid", "test"))
    t0 = time.perf_counter()
    for name, cfg in (("bernoulli", {}), ("mixture", {"components": args.components})):
        model = build(name, seed=args.seed, shape=train.shape, **cfg)
        # the demo replaces its own earlier output, and says so (a folder holding another
        # run is refused as usual)
        again = rundir.holds_run(out / name) and _is_demo(out / name, name)
        if again:
            print(f"replacing the previous demo run in {out / name}", file=sys.stderr)
        fit(model, train.x, valid.x, out=out / name, data_name="shapes", epochs=args.epochs,
            seed=args.seed, progress=not args.no_progress, overwrite=again)
        r = evaluate(model, test.x, seed=args.seed)
        with seeded(args.seed):
            grid = save_grid(model.sample(64), model.shape, out / name / "samples.png")
        print(f"{name:<10} {model.num_parameters:>7,} parameters  test NLL "
              f"{r['nll_nats']:7.2f} nats  {r['bits_per_dim']:.4f} bits/dim  samples: {grid}")
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


def _is_demo(out: Path, name: str) -> bool:
    """Whether ``out`` holds a run of ``pgm demo`` (model ``name`` on shapes) or none."""
    try:
        ckpt = checkpoint.load(out, checkpoint.LAST)
    except PGMError:
        return not rundir.holds_run(out)
    return ckpt.get("model") == name and ckpt.get("data") == "shapes"




def cmd_fit(args) -> int:
    """SVI on a user's model file; the run is rebuilt later from ``DIR/program.json``."""
    from pgm.core.program import from_spec

    out = _run_folder(args, args.model.rpartition(":")[2] or "fit")
    spec = {"model": _source_path(args.model), "guide": args.guide,
            "data": str(Path(args.data).resolve()) if args.data else None,
            "set": _settings(args.set), "plate": args.plate}
    if args.resume:
        spec = _same_spec(spec, read_spec(out), out)
    settings = {k: v for k, v in vars(args).items()
                if k in TrainConfig.__dataclass_fields__ and v is not None}
    settings["progress"] = not args.no_progress
    if args.resume:
        _same_settings(out, _last(out), settings, RESUMABLE)
    seed = settings.get("seed", TrainConfig.seed)
    # imports, reads and traces: fails before anything is written
    program = from_spec({**spec, "seed": seed})  # an automatic guide's initial values
    if program.num_data == 1 and (args.batch_size is not None or spec["plate"] != "data"):
        flag = "--plate" if spec["plate"] != "data" else "--batch-size"
        raise PGMError(f"{flag}: the model has no plate {spec['plate']!r} over more than one "
                       "example, so there are no mini-batches to take; name the model's plate "
                       "over its examples with --plate, or leave --batch-size out")
    if not args.resume:
        TrainConfig(**{**program.defaults, **settings})
    with rundir.claim(out, resume=args.resume, overwrite=args.overwrite, flag="--out"):
        if not args.resume:
            spec["guide"] = program.config["guide"] or "none"
            with atomic_write(out / PROGRAM_JSON) as f:
                f.write(json.dumps(spec, indent=1).encode())
        print(f"fitting {program.config['model']} (guide {spec['guide']}, latent sites "
              f"{program.latent}, {program.num_data} examples) -> {out}", file=sys.stderr)
        try:
            summary = fit(program, out=out, resume=args.resume, **settings)
        except Interrupted as e:
            print(f"pgm: {e}", file=sys.stderr)
            return 130
    print(f"final loss {summary['train_loss']:.4g} after {summary['epoch']} epochs "
          f"({summary['seconds']:.1f} s); inspect with: pgm inspect {out}")
    return 0


def _source_path(spec: str) -> str:
    """``FILE.py:NAME`` with the file's absolute path (the run is rebuilt from anywhere)."""
    path, _, name = spec.rpartition(":")
    return f"{Path(path).resolve()}:{name}" if path else spec


def _same_spec(given: dict, saved: dict, out: Path) -> dict:
    """On ``pgm fit --resume``: the run's own program; what was given must match it."""
    defaults = {"guide": None, "data": None, "set": {}, "plate": "data"}
    changed = [f"{k} {v!r} (the run's: {saved.get(k, defaults.get(k))!r})"
               for k, v in given.items()
               if not (k in defaults and v == defaults[k]) and v != saved.get(k, defaults.get(k))]
    if changed:
        raise PGMError(f"--resume: the run in {out} fitted another program: "
                       f"{'; '.join(changed)}; resume with the run's own, or start a new run")
    return saved


def _fitted_program(run: Path, args):
    """The program of a ``pgm fit`` run, with its fitted parameters."""
    if not run.exists():
        raise PGMError(f"{run} does not exist; expected the folder of a `pgm fit` run")
    read_spec(run)  # a folder of another kind of run is named as such
    return checkpoint.load_run(run, *_checkpoint(args))


def cmd_inspect(args) -> int:
    """The posterior of a ``pgm fit`` run: ArviZ summary of the latent and deterministic
    sites, LOO of each observation (never of factor or deterministic sites), plots."""
    from pgm.posterior import summarize
    from pgm.viz import plot_inference

    run = Path(args.dir)
    out = Path(args.out) if args.out else run / "inspect"
    blocker = file_in_the_way(out)
    if blocker is not None:
        raise PGMError(f"--out: expected a folder for the summary and plots, but {blocker} "
                       "is a file")
    if args.num_samples < 4 * args.chains or args.num_samples % args.chains:
        raise PGMError(f"--num-samples: expected a multiple of --chains ({args.chains}) with "
                       f"at least 4 draws a chain (ArviZ's diagnostics need them), got "
                       f"{args.num_samples}")
    program = _fitted_program(run, args)
    report = summarize(program, num_samples=args.num_samples, seed=args.seed,
                       chains=args.chains)
    print(report)
    with atomic_write(out / "summary.csv") as f:
        f.write(report.table.to_csv().encode())
    with seeded(args.seed):  # ArviZ subsamples draws for its pictures
        paths = plot_inference(report.idata, out, var_names=report.var_names)
    for path in paths:
        print(path)
    return 0


def cmd_predict(args) -> int:
    """A ``pgm fit`` run at new inputs: the posterior predictive of its observed sites
    there (ArviZ's ``predictions`` group), summarized and written as CSV."""
    import arviz as az

    from pgm.core.program import as_data
    from pgm.data.readers import read_table, with_extras
    from pgm.posterior import predict

    run = Path(args.dir)
    out = _output_file(args.out, ".csv")
    program = _fitted_program(run, args)
    data = as_data(with_extras(read_table(args.data), _settings(args.set)), program.fn)
    idata = predict(program, data, num_samples=args.num_samples, seed=args.seed,
                    chains=args.chains)
    table = az.summary(idata, group="predictions", kind="stats")
    print(table.to_string())
    with atomic_write(out) as f:
        f.write(table.to_csv().encode())
    print(out)
    return 0


def cmd_data(args) -> int:
    if args.action == "where":
        for d in pgm_data.search_dirs(args.data_dir):
            print(f"{d}  ({'exists' if d.is_dir() else 'missing'})")
    else:
        for path in pgm_data.download(args.name, args.data_dir):
            print(path)
    return 0


# ---- parser ---------------------------------------------------------------------------


def _data_args(p, required=True):
    p.add_argument("--data", required=required, choices=pgm_data.names(),
                   help="data set name" + ("" if required else
                                           " (default: the one the run was trained on)"))
    p.add_argument("--data-dir", default=None,
                   help="directory of the data files (default: $PGM_DATA_DIR, the cache, "
                        "../shared/data)")
    p.add_argument("--limit", type=_positive, default=None, help="use only the first N images")


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as the one ``pgm: error:`` line every failure gets."""

    def error(self, message: str):
        sub = self.prog.split(" ", 1)[1] + ": " if " " in self.prog else ""
        print(f"pgm: error: {sub}{message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(2)


def _which_arg(p) -> None:
    p.add_argument("--which", default=None, choices=[checkpoint.BEST, checkpoint.LAST],
                   help="the checkpoint to use (default: best.pt, else last.pt for a run "
                        "stopped before its first epoch ended)")


def _checkpoint(args) -> tuple[str, bool]:
    """``(which, fallback)``: an explicit ``--which`` is strict; the default falls back."""
    return (args.which or checkpoint.BEST), args.which is None


def _resume_args(p) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true",
                   help="continue the run in OUT (from its last.pt, on its own data and "
                        "settings)")
    g.add_argument("--overwrite", action="store_true",
                   help="replace the run in OUT (without it, a folder that holds a run is "
                        "refused)")


def parser() -> argparse.ArgumentParser:
    from pgm import __version__

    ap = _Parser(prog="pgm", description="Deep generative models on Pyro.")
    ap.add_argument("--version", action="version", version=f"pgm {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="fit models to built-in data, print test NLL, save samples")
    p.add_argument("--out", default="runs/demo", type=_folder)
    p.add_argument("--epochs", type=_positive, default=10)
    p.add_argument("--components", type=_positive, default=30)
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("list", help="list the models; with a name, its settings and defaults")
    p.add_argument("name", nargs="?", help="a model: list its --set keys and their defaults")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("train", help="fit a model by SVI (GANs: adversarially)",
                       description="Fit MODEL by SVI, or a GAN adversarially; writes best.pt, "
                                   "last.pt, samples.png.")
    p.add_argument("model", help="model name (see `pgm list`)")
    _data_args(p, required=False)
    p.add_argument("--out", type=_folder,
                   help="run directory for checkpoints (default: a new runs/MODEL-DATE-TIME)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--lr-decay", type=float, help="learning-rate factor per epoch")
    p.add_argument("--seed", type=_seed)
    p.add_argument("--patience", type=int, help="early-stopping patience in epochs")
    p.add_argument("--checkpoint-every", type=int, help="also checkpoint every N steps")
    p.add_argument("--clip-norm", type=float)
    p.add_argument("--max-seconds", type=float, help="stop after this much training time")
    p.add_argument("--set", type=_kv, action="append", default=[], metavar="KEY=VALUE",
                   help="model hyper-parameter, e.g. --set components=500")
    _resume_args(p)
    p.add_argument("--no-progress", action="store_true")
    g = p.add_argument_group("GANs (adversarial training)")
    g.add_argument("--lr-d", type=float, help="discriminator learning rate (default: --lr)")
    g.add_argument("--d-steps", type=int, help="discriminator steps per generator step")
    g.add_argument("--sample-every", type=int,
                   help="write OUT/samples/step_N.png every N generator steps")
    g.add_argument("--ema", type=float, help="sample from a moving average of the generator's "
                                             "weights with this decay, e.g. 0.999 (best.pt)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="NLL (nats, bits/dim) of a trained model on a split; "
                                    "for GANs, Frechet distance and class coverage")
    p.add_argument("dir", help="run directory or checkpoint file")
    _data_args(p, required=False)
    p.add_argument("--split", default="test", choices=pgm_data.SPLITS)
    _which_arg(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--seed", type=_seed, default=0,
                   help="seed of the importance samples (latent models) or samples (GANs)")
    p.add_argument("--classifier-cache", default=None,
                   help="folder of pgm's feature classifiers for GAN metrics (default: "
                        "~/.cache/pgm/classifiers)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("sample", help="draw samples from a trained model into a PNG grid")
    p.add_argument("dir", help="run directory or checkpoint file")
    p.add_argument("-n", type=_positive, default=64)
    p.add_argument("--out", type=_folder,
                   help="PNG file to write (default: DIR/sample-N-seedS.png)")
    p.add_argument("--seed", type=_seed, default=0)
    _which_arg(p)
    g = p.add_argument_group("models that generate from images (translators, Puzzle-GAN)")
    _data_args(g, required=False)
    g.add_argument("--split", default="test", choices=pgm_data.SPLITS,
                   help="the split whose images it reads (default: test)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("fit", help="fit your own Pyro model (FILE.py:NAME) by SVI",
                       description="SVI on a Pyro model function of a Python file; writes "
                                   "DIR/program.json, DIR/best.pt, DIR/last.pt.")
    p.add_argument("model", help="FILE.py:NAME, the model function")
    p.add_argument("--guide", default=None,
                   help="a guide function of the same file, an automatic guide (auto_normal, "
                        "auto_delta, auto_diagonal_normal, auto_low_rank_multivariate_normal, "
                        "auto_iaf_normal, ...) or none (default: the file's `guide`, else "
                        "auto_normal)")
    p.add_argument("--data", default=None,
                   help=".csv (a header of column names) or .npz: the model's keyword arguments")
    p.add_argument("--set", type=_kv, action="append", default=[], metavar="KEY=VALUE",
                   help="a further keyword argument of the model, e.g. --set groups=8")
    p.add_argument("--plate", default="data", help="the plate that mini-batches subsample")
    p.add_argument("--out", type=_folder,
                   help="run directory (default: a new runs/NAME-DATE-TIME)")
    for flag in ("--epochs", "--batch-size"):
        p.add_argument(flag, type=int)
    p.add_argument("--seed", type=_seed)
    for flag in ("--lr", "--lr-decay", "--max-seconds", "--clip-norm"):
        p.add_argument(flag, type=float)
    _resume_args(p)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("inspect", help="posterior of a `pgm fit` run: ArviZ summary and plots")
    p.add_argument("dir", help="run directory of `pgm fit`")
    p.add_argument("--num-samples", type=_positive, default=1000)
    p.add_argument("--chains", type=_positive, default=4)
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--out", default=None, type=_folder,
                   help="folder for summary.csv and plots (default DIR/inspect)")
    _which_arg(p)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("predict", help="a `pgm fit` run at new inputs: posterior predictive",
                       description="Draw the observed sites of a `pgm fit` run's model at new "
                                   "inputs (a CSV or NPZ of the model's keyword arguments, the "
                                   "observations left out), from its fitted guide; print and "
                                   "write their summary.")
    p.add_argument("dir", help="run directory of `pgm fit`")
    p.add_argument("--data", required=True, help=".csv or .npz of the new inputs")
    p.add_argument("--set", type=_kv, action="append", default=[], metavar="KEY=VALUE",
                   help="a further keyword argument of the model")
    p.add_argument("--out", default="predictions.csv", help="CSV file for the summary")
    p.add_argument("--num-samples", type=_positive, default=1000)
    p.add_argument("--chains", type=_positive, default=4)
    p.add_argument("--seed", type=_seed, default=0)
    _which_arg(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("data", help="where data is looked for; download a data set")
    p.add_argument("action", choices=["where", "download"])
    p.add_argument("name", nargs="?", help="data set to download")
    p.add_argument("--data-dir", default=None)
    p.set_defaults(func=cmd_data)
    return ap


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    if isinstance(e, OSError) and e.filename is not None and str(e.filename) not in text:
        text = f"{e.filename}: {e.strerror or text}"
    return text or type(e).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """pgm's own warnings as one ``pgm: warning:`` line; others as Python shows them."""
    if issubclass(category, PGMWarning):
        print(f"pgm: warning: {_one_line(message)}", file=sys.stderr)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Every failure is one line ``pgm: error: ...`` on standard error and status 2 (130 on
    Ctrl-C), never a traceback; ``PGM_DEBUG=1`` shows the traceback of an unexpected one.
    """
    args = parser().parse_args(argv)
    if getattr(args, "action", None) == "download" and not args.name:
        parser().error("data download: expected a data set name")
    warnings.showwarning = _show_warning
    # pgm says itself why a loss became NaN (pgm.infer.diagnose); Pyro's own notice of it
    # would be a second, less useful line
    warnings.filterwarnings("ignore", message="Encountered NaN", category=UserWarning)
    try:
        return args.func(args)
    except Interrupted as e:
        print(f"pgm: {e}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("pgm: interrupted", file=sys.stderr)
        return 130
    except MemoryError as e:
        print(f"pgm: error: out of memory ({_one_line(e) or 'MemoryError'}); ask for less "
              "(-n, --batch-size, --limit)", file=sys.stderr)
        return 2
    except (PGMError, ValueError, TypeError, FloatingPointError, OSError) as e:
        print(f"pgm: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - a bug of pgm's own: still one line
        if "can't allocate memory" in str(e) or "out of memory" in str(e).lower():
            print(f"pgm: error: out of memory ({_one_line(e)[:160]}); ask for less (-n, "
                  "--batch-size, --limit)", file=sys.stderr)
            return 2
        if os.environ.get("PGM_DEBUG"):
            raise
        print(f"pgm: error: unexpected {type(e).__name__}: {_one_line(e)} (a bug in pgm; "
              "PGM_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = _python_show_warning


if __name__ == "__main__":
    sys.exit(main())
