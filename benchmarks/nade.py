"""NADE (and FVSBN, PixelRNN) on binarized MNIST: test NLL, time to quality, training curve.

    python benchmarks/nade.py --model nade --max-minutes 90
    python benchmarks/nade.py --model fvsbn
    python benchmarks/nade.py --model pixelrnn --layer row --hidden 32 --max-minutes 30

Trains through ``pgm.fit`` (what ``pgm train`` runs), evaluates the best-validation
checkpoint on the 10,000 test images, writes the validation curve against wall time to
docs/figures/, and merges the figures into benchmarks/results/autoregressive.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import records  # noqa: E402

import pgm  # noqa: E402
from pgm.infer import checkpoint  # noqa: E402

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="nade", choices=["nade", "fvsbn", "pixelrnn"])
    ap.add_argument("--hidden", type=int, default=None, help="nade: 500; pixelrnn: 32")
    ap.add_argument("--layers", type=int, default=2, help="pixelrnn's LSTM layers")
    ap.add_argument("--layer", default="row", choices=["row", "diagonal"], help="pixelrnn")
    ap.add_argument("--ordering", default="raster")
    ap.add_argument("--activation", default="sigmoid")
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--lr-decay", type=float, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--max-minutes", type=float, default=None)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="runs/bench-autoregressive")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="a few hundred images, one epoch")
    ap.add_argument("--record-only", action="store_true",
                    help="train nothing: evaluate and record the run in --out as it stands "
                         "(best.pt; its history from last.pt), e.g. after it was interrupted")
    args = ap.parse_args()
    limit = 500 if args.smoke else None
    split = {s: pgm.data.load("binarized-mnist", s, args.data_dir, limit=limit)
             for s in ("train", "valid", "test")}
    cfg = {"ordering": args.ordering}
    if args.model == "nade":
        cfg.update(hidden=args.hidden or 500, activation=args.activation)
    elif args.model == "pixelrnn":
        cfg.update(hidden=8 if args.smoke else args.hidden or 32, layers=args.layers,
                   layer=args.layer)
    model = pgm.build(args.model, **cfg)
    settings = {k: v for k, v in (("lr", args.lr), ("lr_decay", args.lr_decay),
                                  ("epochs", args.epochs)) if v is not None}
    if args.max_minutes:
        settings["max_seconds"] = args.max_minutes * 60
    if args.smoke:
        settings["epochs"] = 1
    tag = f"{args.model}-{'-'.join(str(v) for v in cfg.values())}"
    if args.record_only:
        last = checkpoint.load(Path(args.out) / tag, checkpoint.LAST)
        model = pgm.load(Path(args.out) / tag)  # best.pt
        summary = {"config": last["train_config"], **last["state"]}
    else:
        summary = pgm.fit(model, split["train"].x, split["valid"].x, out=Path(args.out) / tag,
                          resume=args.resume, data_name="binarized-mnist", progress=False,
                          checkpoint_every=500, **settings)
    t0 = time.perf_counter()
    r = pgm.evaluate(model, split["test"].x)
    eval_s = time.perf_counter() - t0
    print(f"{tag}: test NLL {r['nll_nats']:.2f} nats, best epoch {summary['best_epoch']}, "
          f"{summary['seconds']:.0f} s training; test evaluation {len(split['test']) / eval_s:.0f}"
          " images/s")
    hist = summary["history"]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([h["seconds"] / 60 for h in hist], [h["valid_nll"] for h in hist])
    ax.set_xlabel("training time (minutes, 2 CPU cores)")
    ax.set_ylabel("validation NLL (nats)")
    ax.set_title(f"{tag} on binarized MNIST")
    ax.set_ylim(None, min(hist[0]["valid_nll"], 130))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    if args.smoke:
        return
    FIGURES.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURES / f"curve-{tag}.png", dpi=120)
    config = {**cfg, **{k: summary["config"][k] for k in ("epochs", "batch_size", "lr",
                                                          "lr_decay", "max_seconds")},
              "epochs_run": len(hist), "best_epoch": summary["best_epoch"]}
    recs = [records.record(args.model, config, "binarized-mnist", "valid", "nll_nats",
                           summary["best_valid"], "nats", summary["seconds"]),
            records.record(args.model, config, "binarized-mnist", "test", "nll_nats",
                           r["nll_nats"], "nats", summary["seconds"]),
            records.record(args.model, config, "binarized-mnist", "test", "bits_per_dim",
                           r["bits_per_dim"], "bits/dim", summary["seconds"]),
            records.record(args.model, config, "binarized-mnist", "test", "eval_images_per_s",
                           len(split["test"]) / eval_s, "images/s", summary["seconds"]),
            records.record(args.model, config, "binarized-mnist", "valid", "minutes_to_best_valid",
                           hist[summary["best_epoch"] - 1]["seconds"] / 60, "min",
                           summary["seconds"])]
    records.write("autoregressive", recs)


if __name__ == "__main__":
    main()
