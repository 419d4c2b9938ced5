"""Parameters against fit: independence structures on binarized MNIST (784 pixels).

    python benchmarks/structure.py

Fits the fully independent model, the Markov chain and order-k autoregressive models
(k = 1, 2, 4, 8, 16) under raster and snake orderings. Tables (k <= 10) get their
closed-form estimate from counts, with the pseudo-count chosen on the validation split
(the fully independent model is a table too); k = 16 uses logistic conditionals fitted
by SVI (pgm.fit). Reports test NLL and free
parameters into benchmarks/results/structure.json.
"""

from __future__ import annotations

import argparse
import time

import records

import pgm

PSEUDO = (0.01, 0.1, 1.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--orderings", nargs="+", default=["raster", "snake"])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    limit = 500 if args.smoke else None
    tr, va, te = (pgm.data.load("binarized-mnist", s, args.data_dir, limit=limit).x
                  for s in ("train", "valid", "test"))
    runs = [("bernoulli", {}, None)]
    for o in args.orderings:
        runs.append(("markov", {"ordering": o}, None))
        runs += [("ar", {"k": k, "ordering": o}, None) for k in args.ks]
    out = []
    for name, cfg, _ in runs:
        t0 = time.perf_counter()
        tabular = getattr(pgm.build(name, **cfg), "tabular", True)  # bernoulli: a table
        if tabular:  # closed form; pseudo-count by validation NLL
            fits = [pgm.build(name, **cfg).fit_counts(tr, a) for a in PSEUDO]
            nlls = [pgm.metrics.nll(m, va) for m in fits]
            best = min(range(len(PSEUDO)), key=nlls.__getitem__)
            model, how = fits[best], {"fit": "counts", "pseudo_count": PSEUDO[best]}
        else:
            model = pgm.build(name, **cfg)
            s = pgm.fit(model, tr, va, progress=False, epochs=1 if args.smoke else 10)
            how = {"fit": "svi", "epochs": len(s["history"])}
        secs = time.perf_counter() - t0
        nll = pgm.metrics.nll(model, te)
        conf = {**cfg, **({"conditional": "table" if tabular else "logistic"}
                          if name == "ar" else {}), **how}
        print(f"{name:<9} {conf}: test NLL {nll:.2f} nats, {model.num_parameters:,} parameters, "
              f"{secs:.1f} s")
        out += [records.record(name, conf, "binarized-mnist", "test", "nll_nats", nll, "nats",
                               secs),
                records.record(name, conf, "binarized-mnist", "test", "num_parameters",
                               model.num_parameters, "parameters", secs)]
    if not args.smoke:
        records.write("structure", out)


if __name__ == "__main__":
    main()
