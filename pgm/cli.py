"""The ``pgm`` command line: demo, list, train, eval, sample, fit, inspect, data.

Every sub-command has ``--help``. Errors that pgm raises on purpose print as
one line ``pgm: error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import sys
import time
from pathlib import Path

import torch

from pgm import data as pgm_data
from pgm.core import build, get, names
from pgm.core.base import evaluating
from pgm.errors import PGMError
from pgm.infer import checkpoint, evaluate, fit
from pgm.infer.svi import Interrupted, TrainConfig
from pgm.io import atomic_write
from pgm.viz import save_grid


def _kv(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set: expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def _load_split(args, split: str, binary: bool) -> pgm_data.Dataset:
    """Grey data are binarized for binary models and dequantized for continuous ones."""
    return pgm_data.load(args.data, split, data_dir=args.data_dir, binarize=binary,
                         dequantize=not binary, limit=getattr(args, "limit", None))


def _describe(cls) -> str:
    return (cls.__doc__ or "").strip().splitlines()[0].replace("``", "")


# ---- sub-commands ---------------------------------------------------------------------


def cmd_list(args) -> int:
    for name in names():
        cls = get(name)
        print(f"{name:<12} {cls.kind:<9} {_describe(cls)}")
    return 0


#: ``pgm train`` options that only adversarial training takes
ADVERSARIAL_FLAGS = ("lr_d", "d_steps", "sample_every", "ema")


def _data_config(cls, args, train) -> dict:
    """``--set`` values, plus what a GAN takes from its data unless set: binary images
    (``pixels="bernoulli"``) and, for a conditional model, captions of the data's labels."""
    config = dict(args.set)
    if cls.kind == "implicit":
        if (train.binary and "pixels" in inspect.signature(cls).parameters
                and config.get("output") != "linear"):
            config.setdefault("pixels", "bernoulli")
        if "captions" in inspect.signature(cls).parameters:
            config.setdefault("captions", args.data)
    return config


def cmd_train(args) -> int:
    """SVI for likelihood models; the adversarial loop for GANs (``kind == "implicit"``)."""
    cls = get(args.model)
    adversarial = cls.kind == "implicit"
    if adversarial:
        from pgm.infer.adversarial import AdversarialConfig as Config
        from pgm.infer.adversarial import train as trainer
    else:
        Config, trainer = TrainConfig, fit
        given = [f"--{k.replace('_', '-')}" for k in ADVERSARIAL_FLAGS
                 if getattr(args, k) is not None]
        if given:
            raise PGMError(f"{', '.join(given)}: only for GANs (adversarial training); "
                           f"{args.model!r} is fitted by SVI")
    settings = {k: v for k, v in vars(args).items()
                if k in Config.__dataclass_fields__ and v is not None}
    settings["progress"] = not args.no_progress
    Config(**{**cls.defaults, **settings})  # bad settings fail before any work
    train = _load_split(args, "train", cls.binary)
    # GANs have no likelihood to validate on
    valid = None if adversarial else _load_split(args, "valid", cls.binary)
    if args.resume:
        model, _ = checkpoint.load_model(args.out, checkpoint.LAST)
        if model.name != args.model:
            raise PGMError(f"--resume: {args.out} holds a {model.name!r} run, not {args.model!r}")
    else:
        model = build(args.model, shape=train.shape, **_data_config(cls, args, train))
    # a GAN may train on more than the images: captions of their labels, another domain
    x, condition = model.training_data(train) if adversarial else (train.x, None)
    extra = {} if condition is None else {"condition": condition}
    how = "adversarially " if adversarial else ""
    sizes = f"{len(x)} train" + (f" / {len(valid)} valid" if valid is not None else "")
    print(f"training {model.name} ({model.num_parameters:,} parameters) {how}on {args.data} "
          f"({sizes}) -> {args.out}", file=sys.stderr)
    try:
        summary = trainer(model, x, *([] if adversarial else [valid.x]), out=args.out,
                          resume=args.resume, data_name=args.data, **extra, **settings)
    except Interrupted as e:
        print(f"pgm: {e}", file=sys.stderr)
        return 130
    if adversarial:
        print(f"discriminator loss {summary['d_loss']:.3f} (accuracy "
              f"{summary['d_accuracy']:.2f}), generator loss {summary['g_loss']:.3f} after "
              f"{summary['step']} generator steps; {summary['seconds']:.1f} s training")
    else:
        print(f"best valid NLL {summary['best_valid']:.2f} nats at epoch "
              f"{summary['best_epoch']}; {summary['seconds']:.1f} s training")
    with torch.no_grad(), evaluating(model):
        if not adversarial:
            grid = model.sample(64)
        else:  # the loop's monitoring batch: noise, and the captions or images it reads
            grid = model.render(model.generator_input(
                64, torch.Generator().manual_seed(0), real=x[:64],
                condition=None if condition is None else condition[:64]))
    save_grid(grid, model.shape, Path(args.out) / "samples.png")
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


def _eval_implicit(args, model, ckpt) -> int:
    """``pgm eval`` of a model without likelihood: sample-quality metrics (pgm.metrics)."""
    from pgm.metrics import LABELLED, classifier, sample_quality

    if model.reads_images:
        return _eval_scores(args, model, ckpt)
    if args.data not in LABELLED:
        raise PGMError(f"{model.name} is an implicit model: it has no likelihood, and pgm "
                       f"has no classifier to judge samples of {args.data!r}")
    ds = _load_split(args, args.split, model.binary)
    t0 = time.perf_counter()
    clf, info = classifier(args.data, cache=args.classifier_cache, data_dir=args.data_dir)
    n = len(ds)
    torch.manual_seed(args.seed)
    with torch.no_grad():
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


def cmd_eval(args) -> int:
    model, ckpt = checkpoint.load_model(args.dir, args.which)
    if model.kind == "implicit":
        return _eval_implicit(args, model, ckpt)
    ds = _load_split(args, args.split, model.binary)
    t0 = time.perf_counter()
    result = evaluate(model, ds.x)
    result.update(model=model.name, config=model.config, data=args.data, split=args.split,
                  checkpoint=ckpt["path"], train_seconds=ckpt["state"]["seconds"],
                  eval_seconds=time.perf_counter() - t0, num_parameters=model.num_parameters)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{model.name} on {args.data}/{args.split} ({result['n']} images): "
              f"NLL {result['nll_nats']:.2f} nats, {result['bits_per_dim']:.4f} bits/dim")
    return 0


def cmd_sample(args) -> int:
    model, _ = checkpoint.load_model(args.dir, args.which)
    torch.manual_seed(args.seed)
    with torch.no_grad():
        x = model.sample(args.n)
    print(save_grid(x, model.shape, args.out))
    return 0


def cmd_demo(args) -> int:
    """Fit two models to the built-in shapes and compare their test NLL."""
    out = Path(args.out)
    train, valid, test = (pgm_data.load("shapes", s) for s in ("train", "valid", "test"))
    t0 = time.perf_counter()
    for name, cfg in (("bernoulli", {}), ("mixture", {"components": args.components})):
        model = build(name, shape=train.shape, **cfg)
        fit(model, train.x, valid.x, out=out / name, data_name="shapes", epochs=args.epochs,
            seed=args.seed, progress=not args.no_progress)
        r = evaluate(model, test.x)
        grid = save_grid(model.sample(64), model.shape, out / name / "samples.png")
        print(f"{name:<10} {model.num_parameters:>7,} parameters  test NLL "
              f"{r['nll_nats']:7.2f} nats  {r['bits_per_dim']:.4f} bits/dim  samples: {grid}")
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


PROGRAM_JSON = "program.json"


def cmd_fit(args) -> int:
    """SVI on a user's model file; the run is rebuilt later from ``DIR/program.json``."""
    from pgm.core.program import from_spec

    out = Path(args.out)
    spec = {"model": args.model, "guide": args.guide, "data": args.data,
            "set": dict(args.set), "plate": args.plate}
    if args.resume:
        spec = _read_spec(out)
    settings = {k: v for k, v in vars(args).items()
                if k in TrainConfig.__dataclass_fields__ and v is not None}
    settings["progress"] = not args.no_progress
    program = from_spec(spec)  # imports, reads and traces: fails before anything is written
    TrainConfig(**{**program.defaults, **settings})
    if not args.resume:
        spec.update(model=f"{Path(spec['model'].rpartition(':')[0]).resolve()}:"
                          f"{spec['model'].rpartition(':')[2]}",
                    data=str(Path(spec["data"]).resolve()) if spec["data"] else None,
                    guide=program.config["guide"] or "none")
        with atomic_write(out / PROGRAM_JSON) as f:
            f.write(json.dumps(spec, indent=1).encode())
    print(f"fitting {program.config['model']} (guide {spec['guide']}, latent sites "
          f"{program.latent}, {program.num_data} examples) -> {out}", file=sys.stderr)
    try:
        summary = fit(program, out=out, resume=args.resume, **settings)
    except Interrupted as e:
        print(f"pgm: {e}", file=sys.stderr)
        return 130
    print(f"final loss {summary['running']:.4g} after {summary['epoch']} epochs "
          f"({summary['seconds']:.1f} s); inspect with: pgm inspect {out}")
    return 0


def _read_spec(run: Path) -> dict:
    file = Path(run) / PROGRAM_JSON
    if not file.is_file():
        raise PGMError(f"{run}: no {PROGRAM_JSON}; expected the directory of a `pgm fit` run")
    return json.loads(file.read_text())


def cmd_inspect(args) -> int:
    """The posterior of a ``pgm fit`` run: ArviZ summary, LOO, plots."""
    import warnings

    import arviz as az

    from pgm.core.program import from_spec
    from pgm.inspect import posterior
    from pgm.viz import plot_inference

    run = Path(args.dir)
    program = from_spec(_read_spec(run))
    checkpoint.restore(program, checkpoint.load(run, args.which))
    idata = posterior(program, num_samples=args.num_samples, seed=args.seed,
                      chains=args.chains)
    summary = az.summary(idata, var_names=program.latent)
    print(summary.to_string())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pareto k warnings are printed below
        for site in program.observed:
            loo = az.loo(idata, var_name=site)
            print(f"loo ({site}): elpd {loo.elpd_loo:.2f} (se {loo.se:.2f}), p_loo "
                  f"{loo.p_loo:.2f}, Pareto k > 0.7: {int((loo.pareto_k > 0.7).sum())}")
    out = Path(args.out) if args.out else run / "inspect"
    with atomic_write(out / "summary.csv") as f:
        f.write(summary.to_csv().encode())
    for path in plot_inference(idata, out, var_names=program.latent):
        print(path)
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
                   help="data set name")
    p.add_argument("--data-dir", default=None,
                   help="directory of the data files (default: $PGM_DATA_DIR, the cache, "
                        "../shared/data)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N images")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="pgm", description="Deep generative models on Pyro.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="fit models to built-in data, print test NLL, save samples")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--components", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("list", help="list the models")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("train", help="fit a model by SVI (GANs: adversarially)",
                       description="Fit MODEL by SVI, or a GAN adversarially; writes best.pt, "
                                   "last.pt, samples.png.")
    p.add_argument("model", help="model name (see `pgm list`)")
    _data_args(p)
    p.add_argument("--out", required=True, help="run directory for checkpoints")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--lr-decay", type=float, help="learning-rate factor per epoch")
    p.add_argument("--seed", type=int)
    p.add_argument("--patience", type=int, help="early-stopping patience in epochs")
    p.add_argument("--checkpoint-every", type=int, help="also checkpoint every N steps")
    p.add_argument("--clip-norm", type=float)
    p.add_argument("--max-seconds", type=float, help="stop after this much training time")
    p.add_argument("--set", type=_kv, action="append", default=[], metavar="KEY=VALUE",
                   help="model hyper-parameter, e.g. --set components=500")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
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
    _data_args(p)
    p.add_argument("--split", default="test", choices=pgm_data.SPLITS)
    p.add_argument("--which", default=checkpoint.BEST, choices=[checkpoint.BEST, checkpoint.LAST])
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples (GANs)")
    p.add_argument("--classifier-cache", default=None,
                   help="folder of pgm's feature classifiers for GAN metrics (default: "
                        "~/.cache/pgm/classifiers)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("sample", help="draw samples from a trained model into a PNG grid")
    p.add_argument("dir", help="run directory or checkpoint file")
    p.add_argument("-n", type=int, default=64)
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--which", default=checkpoint.BEST, choices=[checkpoint.BEST, checkpoint.LAST])
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
    p.add_argument("--out", required=True, help="run directory")
    for flag in ("--epochs", "--batch-size", "--seed"):
        p.add_argument(flag, type=int)
    for flag in ("--lr", "--lr-decay", "--max-seconds", "--clip-norm"):
        p.add_argument(flag, type=float)
    p.add_argument("--resume", action="store_true",
                   help="continue the run in OUT (its program.json and last.pt)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("inspect", help="posterior of a `pgm fit` run: ArviZ summary and plots")
    p.add_argument("dir", help="run directory of `pgm fit`")
    p.add_argument("--num-samples", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for summary.csv and plots "
                                               "(default DIR/inspect)")
    p.add_argument("--which", default=checkpoint.BEST, choices=[checkpoint.BEST, checkpoint.LAST])
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("data", help="where data is looked for; download a data set")
    p.add_argument("action", choices=["where", "download"])
    p.add_argument("name", nargs="?", help="data set to download")
    p.add_argument("--data-dir", default=None)
    p.set_defaults(func=cmd_data)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "action", None) == "download" and not args.name:
        parser().error("data download: expected a data set name")
    try:
        return args.func(args)
    except (PGMError, ValueError, TypeError) as e:
        print(f"pgm: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
