"""Speed of every adversarially trained model: discriminator and generator steps per second.

    python benchmarks/gan_speed.py
    python benchmarks/gan_speed.py --smoke      # tiny models, a few steps; writes nothing

Each model trains through the same loop as ``pgm train`` (pgm.infer.adversarial.train,
its default settings: batch 64, one generator step per discriminator step) for
``--batches`` mini-batches at a time, the models taking turns for ``--rounds`` rounds so
that machine noise hits all of them alike; the median round is reported. GAN, DCGAN and
InfoGAN and the adversarial autoencoder (whose generator step is the autoencoder's) read
binarized MNIST, the text-to-image GAN Fashion-MNIST with its captions.
Writes benchmarks/results/gan_speed.json.
"""

from __future__ import annotations

import argparse
import statistics

import records
import torch

import pgm
from pgm.infer.adversarial import train

#: the configurations timed: those of the recorded runs of benchmarks/gan.py, infogan.py
#: text2image.py and aae.py (binary images drawn as Bernoulli pixels on binarized MNIST)
CONFIGS = {"gan": {"pixels": "bernoulli"},
           "dcgan": {"width": 32, "hidden": 1024, "pixels": "bernoulli"},
           "infogan": {"width": 32, "hidden": 1024, "pixels": "bernoulli"},
           "text2image": {"width": 32, "captions": "fashion-mnist"}, "aae": {}}
SMOKE = {"gan": {"hidden": [16]}, "dcgan": {"width": 4}, "infogan": {"width": 4},
         "text2image": {"width": 4, "captions": "fashion-mnist"}, "aae": {"hidden": [16]}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=100, help="mini-batches per timing")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    batches, rounds = (3, 1) if args.smoke else (args.batches, args.rounds)
    configs = SMOKE if args.smoke else CONFIGS
    n = 64 * batches
    data = {d: pgm.data.load(d, "train", args.data_dir, limit=n)
            for d in ("binarized-mnist", "fashion-mnist")}
    models, inputs = {}, {}
    for name, cfg in configs.items():
        torch.manual_seed(0)
        models[name] = pgm.build(name, **cfg)
        ds = data["fashion-mnist" if name == "text2image" else "binarized-mnist"]
        cond = models[name].conditions(ds.y) if models[name].conditional else None
        inputs[name] = (ds, cond)
    seconds: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(rounds + 1):  # the first round warms up and is not counted
        for name, model in models.items():
            ds, cond = inputs[name]
            s = train(model, ds.x, condition=cond, epochs=1, batch_size=64, progress=False,
                      log_every=0, sample_every=None, seed=0)
            seconds[name].append(s["seconds"] / s["step"])
    out = []
    for name, model in models.items():
        per_step = statistics.median(seconds[name][1:] or seconds[name])
        rate = 1.0 / per_step  # one D step and one G step per mini-batch (d_steps = 1)
        print(f"{name:<11} {model.num_parameters:>10,} parameters: {rate:6.1f} discriminator "
              f"and generator steps per second (batch 64)")
        ds = inputs[name][0]
        config = {**model.config, "batch_size": 64, "d_steps": 1, "batches": batches}
        out.append(records.record(name, config, ds.name, "train", "train_steps_per_second",
                                  rate, "(D + G steps)/s, batch 64"))
    print(f"command: {records.command()}")
    if not args.smoke:
        records.write("gan_speed", out)


if __name__ == "__main__":
    main()
