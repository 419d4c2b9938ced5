"""Image-to-image translation (CycleGAN, StarGAN) on grey MNIST digits with known answers.

    python benchmarks/translation.py --model cyclegan --max-minutes 15
    python benchmarks/translation.py --model stargan --max-minutes 15
    python benchmarks/translation.py --model stargan --smoke    # seconds; writes nothing

Trains through the same path as ``pgm train cyclegan|stargan --data mnist-test`` (the
shared adversarial loop). The domains are made from the 8,000 training digits of
``mnist-test`` by the transforms of ``pgm.data.domains``, each domain from its own digits,
so no digit appears in two domains:

* ``cyclegan``: A, half of the digits as they are; B, the other half in bold (strokes
  thickened by a 3x3 grey-level dilation);
* ``stargan``: three domains, plain, bold and inverted, a third of the digits each.

A held-out digit's version in every domain is known, so on the 1,000 test digits the
benchmark measures the mean absolute pixel error of every translation against the truth
(``l1_*``), beside the error of leaving the digits unchanged, the mark to beat; for
CycleGAN also the round trip ``F(G(a))`` (``l1_cycle``).

Writes a grid to docs/figures/translation-MODEL.png (rows: eight test digits in each
domain, then each translation ``j -> k`` of them) and merges the figures into
benchmarks/results/translation.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import records
import torch

import pgm
from pgm.data import domains
from pgm.infer.adversarial import train
from pgm.viz import save_grid

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
DOMAINS = {"cyclegan": "bold", "stargan": ["plain", "bold", "inverted"]}


@torch.no_grad()
def grid(model, x: torch.Tensor) -> torch.Tensor:
    """The figure's rows ``(rows * n, D)``: ``x`` in every domain, then every translation
    ``j -> k`` of the domain-``j`` versions."""
    names = model.domain_names
    versions = [domains.transform(name)(x, model.shape) for name in names]
    moved = [model.translate_domains(versions[j], j, k)
             for j in range(len(names)) for k in range(len(names)) if j != k]
    return torch.cat([*versions, *moved])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(DOMAINS), default="cyclegan")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-4)
    records.run_options(ap, out="runs/bench-translation")
    args = records.parse(ap)
    limit = 256 if args.smoke else None
    data = "mnist-test"
    tr, te = (pgm.data.load(data, s, args.data_dir, limit=limit) for s in ("train", "test"))
    cfg = {"width": 4 if args.smoke else args.width, "blocks": 1 if args.smoke else args.blocks,
           "domains": DOMAINS[args.model]}
    torch.manual_seed(args.seed)
    model = pgm.build(args.model, **cfg)
    x, condition = model.training_data(tr)  # the domains, from disjoint parts of the digits
    out = Path(args.out) / args.model
    command = records.command() if args.smoke else records.run_command(out, args.resume)
    summary = train(model, x, condition=condition, out=out, resume=args.resume,
                    data_name=data, seed=args.seed, epochs=1 if args.smoke else args.epochs,
                    progress=False, batch_size=args.batch_size, lr=args.lr,
                    max_seconds=None if args.smoke else args.max_minutes * 60)
    errors = model.translation_errors(te.x)
    print(f"{args.model} {cfg}: {summary['step']} generator steps in "
          f"{summary['seconds']:.0f} s; test mean absolute pixel errors: "
          + ", ".join(f"{k} {v:.4f}" for k, v in errors.items()))
    if args.smoke:
        return
    rows = grid(model, te.x[:8])  # eight digits a row
    save_grid(rows, model.shape, FIGURES / f"translation-{args.model}.png", nrow=len(rows) // 8)
    config = {**cfg, **{k: summary["config"][k] for k in ("batch_size", "lr")},
              "generator_steps": summary["g_step"]}
    records.write("translation", [
        records.record(args.model, config, data, "test", metric, value,
                       "mean absolute pixel error", summary["seconds"], cmd=command)
        for metric, value in errors.items()])


if __name__ == "__main__":
    main()
