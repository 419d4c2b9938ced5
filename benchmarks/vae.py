"""VAE on binarized MNIST: importance-sampled test NLL against Burda et al. (2016).

    python benchmarks/vae.py --max-minutes 45
    python benchmarks/vae.py --objective iwae --particles 5 --max-minutes 45

Trains through ``pgm.fit`` (early stopping on an importance-sampled validation NLL with
``eval_samples`` samples over the first 2000 validation images), then estimates
log p(x) of the 10,000 test images with ``--test-samples`` (5000) importance samples
from the guide. Writes benchmarks/results/vae.json and the ELBO-terms curve to
docs/figures/.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import records
import torch

import pgm
from pgm.infer import checkpoint
from pgm.metrics import bits_per_dim
from pgm.viz import plot_elbo_terms

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"

#: in a run directory: where the run started from, kept so that a resumed run still says so
WARM = "warm_start.json"


def warm_start(model: pgm.core.GenerativeModel, source: Path, run: Path) -> None:
    """Load the best weights of the run in ``source`` into ``model`` and write ``run/WARM``:
    that run's name and epochs, its training seconds and its commands."""
    ckpt = checkpoint.load(source)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as e:
        raise SystemExit(f"--init-from: {ckpt['path']} holds another network "
                         f"({ckpt['config']}), expected the weights of {model.config}: {e}"
                         ) from e
    first = source / "commands.txt"
    (run / WARM).write_text(json.dumps({
        "warm_start": f"{source.name}, {ckpt['state']['epoch']} epochs",
        "seconds": ckpt["state"]["seconds"],
        "commands": first.read_text().splitlines() if first.is_file() else []}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latent", type=int, nargs="+", default=[50],
                    help="one size, or two for two stochastic layers (Burda et al.: 100 50)")
    ap.add_argument("--hidden", type=int, nargs="+", default=[200, 200])
    ap.add_argument("--hidden2", type=int, nargs="+", default=[100, 100],
                    help="hidden sizes between z1 and z2 (two stochastic layers)")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--prior", default="normal")
    ap.add_argument("--components", type=int, default=500,
                    help="components of the mog/vamp priors (Tomczak & Welling: 500)")
    ap.add_argument("--objective", default="elbo")
    ap.add_argument("--particles", type=int, default=1)
    ap.add_argument("--analytic-kl", action="store_true")
    ap.add_argument("--warmup", type=int, default=0,
                    help="epochs of KL warm-up (Tomczak & Welling: 100)")
    ap.add_argument("--lr", type=float, default=None, help="1e-3 (new run)")
    ap.add_argument("--lr-decay", type=float, default=None, help="0.995 (new run)")
    ap.add_argument("--epochs", type=int, default=3000)
    ap.add_argument("--patience", type=int, default=50)
    ap.add_argument("--max-minutes", type=float, default=None)
    ap.add_argument("--eval-samples", type=int, default=20)
    ap.add_argument("--test-samples", type=int, default=5000, help="0: train only")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="runs/bench-vae")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-from", default=None,
                    help="a run directory of the same network: start from its best weights "
                         "(a warm start, e.g. k=50 from a k=5 run); its training time counts")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    limit = 500 if args.smoke else None
    tr, va, te = (pgm.data.load("binarized-mnist", s, args.data_dir, limit=limit).x
                  for s in ("train", "valid", "test"))
    two = len(args.latent) == 2
    cfg = {"latent": args.latent if two else args.latent[0], "hidden": args.hidden,
           **({"hidden2": args.hidden2} if two else {}), "prior": args.prior,
           **({"components": args.components} if args.prior != "normal" else {}),
           "objective": args.objective, "particles": args.particles,
           "analytic_kl": args.analytic_kl, "eval_samples": args.eval_samples,
           **({"warmup": args.warmup} if args.warmup else {})}
    model = pgm.build("vae", **cfg)
    # on --resume, --lr/--lr-decay (when given) start a new schedule from the checkpoint
    schedule = {"lr": args.lr, "lr_decay": args.lr_decay}
    if not args.resume:
        schedule = {"lr": 1e-3, "lr_decay": 0.995} | {k: v for k, v in schedule.items() if v}
    settings = {**{k: v for k, v in schedule.items() if v}, "patience": args.patience,
                "batch_size": args.batch_size,
                "epochs": 1 if args.smoke else args.epochs, "checkpoint_every": 2000}
    if args.max_minutes:
        settings["max_seconds"] = args.max_minutes * 60
    tag = f"vae-{args.objective}{args.particles}-{args.prior}-{'-'.join(map(str, args.hidden))}"
    if two:
        tag += "-z" + "-".join(map(str, args.latent))
    run = Path(args.out) / tag
    cmd = records.run_command(run, args.resume)
    if args.init_from and not args.resume:
        warm_start(model, Path(args.init_from), run)
    warm = run / WARM
    warm = json.loads(warm.read_text()) if warm.is_file() else {"seconds": 0.0, "commands": []}
    cmd = ", then ".join([*warm.pop("commands"), cmd])  # the warm start's own commands first
    warm_seconds = warm.pop("seconds")
    s = pgm.fit(model, tr, va[:2000], out=run, resume=args.resume,
                data_name="binarized-mnist", progress=False, **settings)
    k = 50 if args.smoke else args.test_samples
    if k == 0:  # training only (a warm start for another run)
        print(f"{tag}: trained {len(s['history'])} epochs, best epoch {s['best_epoch']}, "
              f"valid NLL {s['best_valid']:.2f} (k={args.eval_samples}); no test evaluation")
        return
    t0 = time.perf_counter()
    with torch.no_grad():
        nll = -torch.cat([model.log_prob(b, num_samples=k) for b in te.split(100)]).mean().item()
        terms = model.elbo_terms(te)
    eval_s = time.perf_counter() - t0
    active = model.active_units(te)
    elbo = terms["elbo"].mean().item()
    print(f"{tag}: test NLL {nll:.2f} nats (k={k}), test -ELBO {-elbo:.2f}, active units "
          f"{'+'.join(map(str, active))}, best epoch {s['best_epoch']} of {len(s['history'])}, "
          f"{s['seconds'] / 60:.1f} min training, {eval_s:.0f} s evaluation")
    hist = s["history"]
    if args.smoke:
        return
    plot_elbo_terms(hist, FIGURES / f"elbo-terms-{tag}.png", x="seconds",
                    title=f"{tag}, validation images")
    # the schedule as run: where the learning rate started and where a resume reset it
    starts = [f"{h['lr']:.3g} from epoch {h['epoch']}" for i, h in enumerate(hist)
              if i == 0 or h["lr"] > hist[i - 1]["lr"]]
    conf = {**cfg, "lr": s["config"]["lr"], "lr_decay": s["config"]["lr_decay"],
            "schedule": ", then ".join(starts), "epochs_run": len(hist),
            "best_epoch": s["best_epoch"], "test_samples": k, **warm,
            "decoder_bias": "pixel marginals"}  # VAE.initialize; runs before it started at 0
    if args.batch_size != 100:
        conf["batch_size"] = args.batch_size
    seconds = s["seconds"] + warm_seconds
    figures = [("nll_nats", nll, "nats"),
               ("bits_per_dim", bits_per_dim(nll, model.dim), "bits/dim"),
               ("neg_elbo_nats", -elbo, "nats"),
               ("kl_nats", terms["kl"].mean().item(), "nats"),
               ("eval_seconds", eval_s, "s"),
               *[(f"active_units_layer{i + 1}", a, "units") for i, a in enumerate(active)]]
    records.write("vae", [records.record("vae", conf, "binarized-mnist", "test", metric, value,
                                         unit, seconds, cmd=cmd)
                          for metric, value, unit in figures])


if __name__ == "__main__":
    main()
