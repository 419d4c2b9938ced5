"""The ``pgm`` command line: demo, list, train, eval, sample, fit, inspect, data.

Every sub-command has ``--help``. Errors that pgm raises on purpose print as
one line ``pgm: error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

import torch

from pgm import data as pgm_data
from pgm.core import build, get, names
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


def cmd_train(args) -> int:
    cls = get(args.model)
    settings = {k: v for k, v in vars(args).items()
                if k in TrainConfig.__dataclass_fields__ and v is not None}
    settings["progress"] = not args.no_progress
    TrainConfig(**{**cls.defaults, **settings})  # bad settings fail before any work
    train = _load_split(args, "train", cls.binary)
    valid = _load_split(args, "valid", cls.binary)
    if args.resume:
        model, _ = checkpoint.load_model(args.out, checkpoint.LAST)
        if model.name != args.model:
            raise PGMError(f"--resume: {args.out} holds a {model.name!r} run, not {args.model!r}")
    else:
        model = build(args.model, shape=train.shape, **dict(args.set))
    print(f"training {model.name} ({model.num_parameters:,} parameters) on {args.data} "
          f"({len(train)} train / {len(valid)} valid) -> {args.out}", file=sys.stderr)
    try:
        summary = fit(model, train.x, valid.x, out=args.out, resume=args.resume,
                      data_name=args.data, **settings)
    except Interrupted as e:
        print(f"pgm: {e}", file=sys.stderr)
        return 130
    print(f"best valid NLL {summary['best_valid']:.2f} nats at epoch {summary['best_epoch']}; "
          f"{summary['seconds']:.1f} s training")
    save_grid(model.sample(64), model.shape, Path(args.out) / "samples.png")
    return 0


def cmd_eval(args) -> int:
    model, ckpt = checkpoint.load_model(args.dir, args.which)
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

    p = sub.add_parser("train", help="fit a model by SVI",
                       description="Fit MODEL by SVI; writes best.pt, last.pt, samples.png.")
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
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="NLL (nats, bits/dim) of a trained model on a split")
    p.add_argument("dir", help="run directory or checkpoint file")
    _data_args(p)
    p.add_argument("--split", default="test", choices=pgm_data.SPLITS)
    p.add_argument("--which", default=checkpoint.BEST, choices=[checkpoint.BEST, checkpoint.LAST])
    p.add_argument("--json", action="store_true", help="print the result as JSON")
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
