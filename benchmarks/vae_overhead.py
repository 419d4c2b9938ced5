"""The cost of Pyro: one VAE training step through pgm against plain PyTorch.

    python benchmarks/vae_overhead.py

The same 784-400-50 networks (tanh), the same single-sample Monte Carlo ELBO and Adam,
batch 100 of binarized MNIST: pgm's step (model/guide traced by Pyro, Trace_ELBO's
differentiable_loss) against a hand-written PyTorch loss. Steps alternate between the two
so machine noise hits both alike; the ratio of medians is the overhead. Writes
benchmarks/results/vae_overhead.json.
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
    a = pgm.build("vae", latent=50, hidden=[400])
    b = pgm.build("vae", latent=50, hidden=[400])
    b.load_state_dict(a.state_dict())
    opt_a = torch.optim.Adam(a.parameters(), lr=1e-3)
    opt_b = torch.optim.Adam(b.parameters(), lr=1e-3)
    elbo = a.elbo()

    def pgm_step(x):
        loss = elbo.differentiable_loss(a.model, a.guide, x, num_data=n) / n
        opt_a.zero_grad()
        loss.backward()
        opt_a.step()
        return loss

    def torch_step(x):
        loss = plain_loss(b, x, n)
        opt_b.zero_grad()
        loss.backward()
        opt_b.step()
        return loss

    t_pgm, t_torch = [], []
    for i in range(steps + 10):
        x = train[(i * bs) % (n - bs):][:bs]
        for fn, acc in ((pgm_step, t_pgm), (torch_step, t_torch)):
            t = time.perf_counter()
            fn(x)
            if i >= 10:  # warm-up
                acc.append(time.perf_counter() - t)
    p, q = statistics.median(t_pgm), statistics.median(t_torch)
    print(f"step, batch {bs}: pgm {p * 1e3:.2f} ms, plain PyTorch {q * 1e3:.2f} ms, "
          f"ratio {p / q:.3f} (median of {steps} alternating steps)")
    if args.smoke:
        return
    cfg = {"latent": 50, "hidden": [400], "batch_size": bs, "steps": steps}
    records.write("vae_overhead", [
        records.record("vae", cfg, "binarized-mnist", "train", "step_ms_pgm", p * 1e3, "ms"),
        records.record("vae", cfg, "binarized-mnist", "train", "step_ms_plain_torch", q * 1e3,
                       "ms"),
        records.record("vae", cfg, "binarized-mnist", "train", "overhead_ratio", p / q, "x")])


if __name__ == "__main__":
    main()
