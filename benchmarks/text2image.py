"""Text-to-image GAN on Fashion-MNIST for a time budget: does it draw what captions say?

    python benchmarks/text2image.py --max-minutes 30
    python benchmarks/text2image.py --smoke       # a few hundred images, seconds; writes nothing

Trains through the same path as ``pgm train text2image --data fashion-mnist`` (the shared
adversarial loop; one training caption drawn per image by pgm.data.captions) until the
epoch during which ``--max-minutes`` pass. Then, in the features of pgm's own
Fashion-MNIST classifier (pgm.metrics; not the Inception FID of papers):

* ``caption_accuracy_held_out``: images drawn from the captions held out of training
  (sentences never seen, 100 images each) that the classifier puts in the caption's class;
  ``caption_accuracy_train`` the same for the training captions (chance is 0.1);
* ``frechet_distance_pgm_classifier``: 10,000 images, each drawn from a training caption
  of a test image's label, against the 10,000 test images, with the validation-vs-test
  distance as the floor.

Writes a grid (one row per held-out caption of each class, 8 images each) to
docs/figures/text2image-held-out.png and merges the figures into
benchmarks/results/text2image.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import records
import torch

import pgm
from pgm.data import captions
from pgm.infer.adversarial import train
from pgm.metrics import classifier, sample_quality
from pgm.viz import save_grid

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "text2image-held-out.png"


@torch.no_grad()
def draw(model, texts: list[str]) -> torch.Tensor:
    """One image per caption ``(n, 784)``, a thousand at a time."""
    return torch.cat([model.sample(len(texts[i : i + 1000]), texts[i : i + 1000])
                      for i in range(0, len(texts), 1000)])


def caption_accuracy(model, clf, pairs: list[tuple[str, int]], per: int) -> float:
    """Share of ``per`` images of each ``(caption, label)`` the classifier puts in ``label``."""
    texts = [t for t, _ in pairs for _ in range(per)]
    labels = torch.tensor([c for _, c in pairs for _ in range(per)])
    _, pred = clf.predict(draw(model, texts))
    return float((pred == labels).float().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--classifier-cache", default=None)
    records.run_options(ap, out="runs/bench-text2image")
    args = records.parse(ap)
    limit = 320 if args.smoke else None
    data = "fashion-mnist"
    tr, va, te = (pgm.data.load(data, s, args.data_dir, limit=limit)
                  for s in ("train", "valid", "test"))
    cfg = {"captions": data, "width": 8 if args.smoke else args.width}
    torch.manual_seed(args.seed)
    model = pgm.build("text2image", **cfg)
    command = records.command() if args.smoke else records.run_command(args.out, args.resume)
    summary = train(model, tr.x, condition=model.conditions(tr.y), out=args.out,
                    resume=args.resume, data_name=data, seed=args.seed,
                    epochs=1 if args.smoke else args.epochs, progress=False,
                    max_seconds=None if args.smoke else args.max_minutes * 60)
    clf, info = classifier(data, cache=args.classifier_cache, data_dir=args.data_dir)
    per = 5 if args.smoke else 100
    torch.manual_seed(args.seed)
    held = caption_accuracy(model, clf, captions.captions(data, "held_out"), per)
    seen = caption_accuracy(model, clf, captions.captions(data, "train"), per)
    q = sample_quality(draw(model, captions.describe(te.y, data, seed=args.seed)), te.x, clf)
    floor = sample_quality(va.x[: len(te)], te.x, clf)
    print(f"text2image {cfg}: {summary['step']} generator steps in {summary['seconds']:.0f} s; "
          f"held-out captions drawn as their class {held:.3f}, training captions {seen:.3f} "
          f"(chance 0.1); Frechet distance {q['frechet_distance']:.1f} (valid vs test "
          f"{floor['frechet_distance']:.1f}); classifier accuracy {info['accuracy']:.3f}")
    if args.smoke:
        return
    rows = [texts[0] for texts in captions.by_class(data, "held_out")]
    torch.manual_seed(args.seed)
    save_grid(draw(model, [t for t in rows for _ in range(8)]), model.shape, FIGURE,
              nrow=len(rows))
    print("figure rows: " + "; ".join(rows))
    config = {**cfg, **{k: summary["config"][k] for k in ("batch_size", "lr", "d_steps")},
              "generator_steps": summary["g_step"]}
    records.write("text2image", [
        records.record("text2image", config, data, split, metric, value, unit,
                       summary["seconds"], cmd=command)
        for split, metric, value, unit in (
            ("held-out captions", "caption_accuracy_held_out", held, "fraction"),
            ("training captions", "caption_accuracy_train", seen, "fraction"),
            ("test", "frechet_distance_pgm_classifier", q["frechet_distance"],
             "feature units^2"),
            ("test", "frechet_distance_valid_floor", floor["frechet_distance"],
             "feature units^2"))])


if __name__ == "__main__":
    main()
