"""What the training loop costs on top of its steps: ``pgm.fit`` against the bare step.

    python benchmarks/loop_overhead.py
    python benchmarks/loop_overhead.py --smoke     # a few batches; writes nothing

For each model, the same batches of binarized MNIST (batch 100; GANs 64) are trained two
ways, taking turns for ``--rounds`` rounds so that machine noise hits both alike:

* loop: ``pgm.fit`` for one epoch of ``--batches`` batches (no validation, no
  checkpoints, no progress bar): data order, the regime's step, running averages, the
  callbacks and checks of every step, the epoch's bookkeeping;
* bare: the regime's ``step`` alone, called on the same batches in a plain Python loop.

The ratio of the median seconds per batch (loop / bare) is the loop's overhead; 1.00 means
none. The models span a tiny step (mixture, where overhead shows most), a VAE and a GAN.
Writes benchmarks/results/loop_overhead.json.
"""

from __future__ import annotations

import argparse
import statistics
import time

import records
import torch

import pgm
from pgm.infer.loop import State, epoch_order, regime_of

CONFIGS = {"mixture": {"components": 10}, "vae": {"latent": 50, "hidden": [400]},
           "gan": {"pixels": "bernoulli"}}
SMOKE = {"mixture": {"components": 2}, "vae": {"latent": 2, "hidden": [8]},
         "gan": {"hidden": [16], "latent": 4}}


def _settings(model, batch_size: int) -> dict:
    """One epoch, nothing written or drawn: the settings both ways share."""
    adversarial = regime_of(model).name == "adversarial"
    return {"batch_size": batch_size, "progress": False, "log_every": 0,
            **({"sample_every": None} if adversarial else {})}


def bare(model, x: torch.Tensor, batch_size: int) -> float:
    """Seconds per batch of the regime's step alone, over one epoch of ``x``."""
    regime_cls = regime_of(model)
    cfg = regime_cls.config(**{**model.defaults, **_settings(model, batch_size)})
    regime = regime_cls(model, cfg, x, None, None)
    state, order = State(), epoch_order(len(x), 0, 0)
    model.train()
    model.start_epoch(0)  # as the loop does (the VAE's KL warm-up)
    t = time.perf_counter()
    for b in range(0, len(x), batch_size):
        regime.step(x[order[b : b + batch_size]], None, state)
        state.step += 1
    return (time.perf_counter() - t) / state.step


def loop(model, x: torch.Tensor, batch_size: int) -> float:
    """Seconds per batch of ``pgm.fit`` for one epoch of ``x``."""
    s = pgm.fit(model, x, epochs=1, **_settings(model, batch_size))
    return s["seconds"] / s["step"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=60, help="batches per timing")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    batches, rounds = (3, 1) if args.smoke else (args.batches, args.rounds)
    configs = SMOKE if args.smoke else CONFIGS
    x = pgm.data.load("binarized-mnist", "train", args.data_dir, limit=100 * batches).x
    times = {(name, how): [] for name in configs for how in ("loop", "bare")}
    for r in range(rounds + 1):  # the first round warms up and is not counted
        for name, cfg in configs.items():
            bs = 64 if name == "gan" else 100
            for how, fn in (("loop", loop), ("bare", bare)):
                model = pgm.build(name, seed=0, **cfg)
                seconds = fn(model, x[: bs * batches], bs)
                if r or rounds == 1:
                    times[name, how].append(seconds)
    out = []
    for name in configs:
        med = {how: statistics.median(times[name, how]) * 1e3 for how in ("loop", "bare")}
        ratio = med["loop"] / med["bare"]
        print(f"{name:<8} loop {med['loop']:7.2f} ms/batch, bare step {med['bare']:7.2f} "
              f"ms/batch: ratio {ratio:.3f}")
        cfg = {**configs[name], "batch_size": 64 if name == "gan" else 100,
               "batches": batches, "rounds": rounds, "threads": args.threads}
        d = "binarized-mnist"
        out += [records.record(name, cfg, d, "train", "loop_ms_per_batch", med["loop"], "ms"),
                records.record(name, cfg, d, "train", "bare_step_ms_per_batch", med["bare"],
                               "ms"),
                records.record(name, cfg, d, "train", "loop_overhead_ratio", ratio, "x")]
    print(f"command: {records.command()}")
    if not args.smoke:
        records.write("loop_overhead", out)


if __name__ == "__main__":
    main()
