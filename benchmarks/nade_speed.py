"""NADE training speed: fused kernels against the obvious vectorized implementation.

    python benchmarks/nade_speed.py

Side by side in one run, on the same batches of binarized MNIST (batch 100, H = 500):
one SVI training step (pgm's Pyro ELBO + Adam) with NADE's fused kernels and with the
obvious version that broadcasts x * W to (batch, D, H) and takes a cumulative sum.
Steps alternate between the two so that machine noise hits both alike. Also measures one
whole training epoch of the fused version, exact test log-likelihood throughput, and the
peak resident memory each step adds. Writes benchmarks/results/nade_speed.json.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import records
import torch

import pgm
from pgm.autoregressive import NADE


class ObviousNADE(NADE):
    """NADE whose logits come from the broadcast-and-cumsum implementation."""

    def logits(self, x):
        return self.logits_reference(x)


def step_timer(model, batches, n):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = model.elbo().differentiable_loss

    def step(i):
        t = time.perf_counter()
        loss = loss_fn(model.model, model.guide, batches[i % len(batches)], num_data=n) / n
        opt.zero_grad()
        loss.backward()
        opt.step()
        return time.perf_counter() - t

    return step


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--steps", type=int, default=8, help="timed steps of each version")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    train = pgm.data.load("binarized-mnist", "train", args.data_dir,
                          limit=1000 if args.smoke else None).x
    test = pgm.data.load("binarized-mnist", "test", args.data_dir,
                         limit=1000 if args.smoke else None).x
    n, bs = len(train), args.batch_size
    batches = [train[i : i + bs] for i in range(0, 20 * bs, bs)]
    torch.manual_seed(0)
    fast, slow = NADE(hidden=args.hidden), ObviousNADE(hidden=args.hidden)
    slow.load_state_dict(fast.state_dict())
    steps = 2 if args.smoke else args.steps
    fast_step, slow_step = step_timer(fast, batches, n), step_timer(slow, batches, n)
    fast_step(0)  # compile the kernels, warm caches
    rss0 = peak_rss_mb()
    for i in range(2):
        fast_step(i)
    rss_fast = peak_rss_mb()
    slow_step(0)
    rss_slow = peak_rss_mb()
    tf, ts = [], []
    for i in range(steps):
        tf.append(fast_step(i))
        ts.append(slow_step(i))
    f, s = statistics.median(tf), statistics.median(ts)
    per_epoch = -(-n // bs)
    print(f"step (batch {bs}): fused {f * 1e3:.1f} ms, obvious {s * 1e3:.1f} ms, "
          f"ratio {s / f:.1f}x (median of {steps} alternating steps)")
    print(f"projected epoch ({per_epoch} steps): fused {f * per_epoch:.1f} s, "
          f"obvious {s * per_epoch:.1f} s")
    print(f"peak memory added: fused {rss_fast - rss0:.0f} MB, obvious {rss_slow - rss_fast:.0f}"
          f" MB more (one (batch, D, H) float32 tensor is {bs * 784 * args.hidden * 4 / 2**20:.0f}"
          " MB)")
    summary = pgm.fit(fast, train, epochs=1, batch_size=bs, progress=False)
    epoch_s = summary["seconds"]
    print(f"one measured training epoch, fused, through pgm.fit: {epoch_s:.1f} s")
    t0 = time.perf_counter()
    pgm.metrics.nll(fast, test)
    ips = len(test) / (time.perf_counter() - t0)
    print(f"exact log-likelihood of {len(test)} test images: {ips:.0f} images/s")
    if args.smoke:
        return
    cfg = {"hidden": args.hidden, "batch_size": bs, "steps": steps}
    d = "binarized-mnist"
    recs = [records.record("nade", cfg, d, "train", "step_seconds_fused", f, "s"),
            records.record("nade", cfg, d, "train", "step_seconds_obvious", s, "s"),
            records.record("nade", cfg, d, "train", "speedup_fused_vs_obvious", s / f, "x"),
            records.record("nade", cfg, d, "train", "epoch_seconds_projected_obvious",
                           s * per_epoch, "s"),
            records.record("nade", cfg, d, "train", "epoch_seconds_fused", epoch_s, "s",
                           epoch_s),
            records.record("nade", cfg, d, "train", "peak_rss_added_fused", rss_fast - rss0,
                           "MB"),
            records.record("nade", cfg, d, "train", "peak_rss_added_obvious",
                           rss_slow - rss_fast, "MB"),
            records.record("nade", cfg, d, "test", "eval_images_per_s", ips, "images/s")]
    records.write("nade_speed", recs)


if __name__ == "__main__":
    main()
