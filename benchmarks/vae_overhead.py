"""The cost of Pyro: one VAE training step through pgm against plain PyTorch.

    python benchmarks/vae_overhead.py

The same 784-400-50 networks (tanh), the same single-sample Monte Carlo ELBO, batch 100
of binarized MNIST. Three steps, alternating so that machine noise hits all alike:

* pgm: the trainer's own step (``pgm.infer.svi.step``: Pyro traces the model and guide,
  ``Trace_ELBO.differentiable_loss``, fused Adam, Pyro's validation off after step 0);
* plain: the loss written by hand in PyTorch, textbook ``torch.optim.Adam``;
* plain-fused: the same with fused Adam, so that only Pyro's own cost remains.

Ratios of median step times are written to benchmarks/results/vae_overhead.json.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import records
import torch
import torch.nn.functional as F

import pgm
from pgm.infer.svi import adam, step


def plain_loss(m, x: torch.Tensor, n: int) -> torch.Tensor:
    """-ELBO per example, by hand: z = mu + sigma * eps, log p(x|z) + log p(z) - log q(z|x)."""
    loc, scale = m.encode(x)
    eps = torch.randn_like(loc)
    z = loc + scale * eps
    logits = m.decoder(z)
    log_px = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    log_pz = -0.5 * (z**2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
    log_qz = (-0.5 * eps**2 - scale.log()).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
    return -(log_px + log_pz - log_qz).sum() * (n / x.shape[0]) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    train = pgm.data.load("binarized-mnist", "train", args.data_dir,
                          limit=2000 if args.smoke else None).x
    n, bs = len(train), args.batch_size
    steps = 20 if args.smoke else args.steps
    torch.manual_seed(0)
    models = [pgm.build("vae", latent=50, hidden=[400]) for _ in range(3)]
    for m in models[1:]:
        m.load_state_dict(models[0].state_dict())
    a, b, c = models
    opt_a, loss_a = adam(a.parameters(), 1e-3), a.elbo().differentiable_loss
    opt_b = torch.optim.Adam(b.parameters(), lr=1e-3)
    opt_c = adam(c.parameters(), 1e-3)

    def plain_step(m, opt, x):
        loss = plain_loss(m, x, n)
        opt.zero_grad()
        loss.backward()
        opt.step()

    steps_fns = {"pgm": lambda x: step(a, opt_a, loss_a, x, n),
                 "plain": lambda x: plain_step(b, opt_b, x),
                 "plain_fused": lambda x: plain_step(c, opt_c, x)}
    times: dict[str, list[float]] = {k: [] for k in steps_fns}
    for i in range(steps + 10):
        x = train[(i * bs) % (n - bs):][:bs]
        for name, fn in steps_fns.items():
            t = time.perf_counter()
            fn(x)
            if i >= 10:  # warm-up
                times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    r1, r2 = med["pgm"] / med["plain"], med["pgm"] / med["plain_fused"]
    print(f"step, batch {bs} (median of {steps}): pgm {med['pgm']:.2f} ms, plain PyTorch "
          f"{med['plain']:.2f} ms, plain PyTorch with fused Adam {med['plain_fused']:.2f} ms")
    print(f"ratio pgm / plain {r1:.3f}; pgm / plain-fused (Pyro's own cost) {r2:.3f}")
    if args.smoke:
        return
    cfg = {"latent": 50, "hidden": [400], "batch_size": bs, "steps": steps,
           "threads": torch.get_num_threads()}
    d = "binarized-mnist"
    records.write("vae_overhead", [
        records.record("vae", cfg, d, "train", "step_ms_pgm", med["pgm"], "ms"),
        records.record("vae", cfg, d, "train", "step_ms_plain_torch", med["plain"], "ms"),
        records.record("vae", cfg, d, "train", "step_ms_plain_torch_fused_adam",
                       med["plain_fused"], "ms"),
        records.record("vae", cfg, d, "train", "overhead_ratio", r1, "x"),
        records.record("vae", cfg, d, "train", "overhead_ratio_same_optimizer", r2, "x")])


if __name__ == "__main__":
    main()
