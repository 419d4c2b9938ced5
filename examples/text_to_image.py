"""Draw Fashion-MNIST images from captions, including sentences the model never saw.

    python examples/text_to_image.py                 # 3 epochs of Fashion-MNIST: ~10 minutes
    python examples/text_to_image.py --caption "a photo of a warm jumper"
    python examples/text_to_image.py --smoke         # 320 images, 1 epoch, seconds

Trains pgm's text-to-image GAN (``text2image``: GAN-CLS of Reed et al. 2016, a DCGAN whose
players read a caption, with a matching-aware discriminator and a small text encoder
learned with it) on Fashion-MNIST. Every training image gets a caption written from its
label by :mod:`pgm.data.captions` ("a picture of a sneaker", "some trousers", ...); a fifth
of the sentences are held out of training. Then the model draws images for held-out
sentences and for ``--caption`` (any words; unknown ones are ignored by the encoder), and
pgm's Fashion-MNIST classifier says how many show the class the caption names.

Writes to --out: ``held_out.png`` (one row per held-out caption, one per class),
``captions.png`` (rows: the ``--caption`` sentences) and ``run/`` (checkpoints, resumable).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import pgm
from pgm.data import captions
from pgm.infer.adversarial import train
from pgm.metrics import classifier
from pgm.viz import save_grid

NEEDS_DATA = True
DEFAULT_CAPTIONS = ["a pair of pants", "a long sleeved shirt", "a summer dress",
                    "a leather boot"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--caption", action="append", help="a caption to draw (repeatable)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="runs/text_to_image")
    ap.add_argument("--smoke", action="store_true", help="320 images, 1 epoch")
    args = ap.parse_args()
    out = Path(args.out)
    data = pgm.data.load("fashion-mnist", "train", args.data_dir,
                         limit=320 if args.smoke else None)
    torch.manual_seed(0)
    model = pgm.build("text2image", captions="fashion-mnist", width=8 if args.smoke else args.width)
    resume = (out / "run" / "last.pt").is_file()
    train(model, data.x, condition=model.conditions(data.y), out=out / "run", resume=resume,
          epochs=1 if args.smoke else args.epochs, seed=0, data_name="fashion-mnist")

    # one held-out sentence per class: the model never saw these strings
    rows = [texts[0] for texts in captions.by_class("fashion-mnist", "held_out")]
    torch.manual_seed(1)
    images = model.sample(8 * len(rows), [t for t in rows for _ in range(8)])  # (80, 784)
    save_grid(images, model.shape, out / "held_out.png", nrow=len(rows))
    clf, _ = classifier("fashion-mnist", data_dir=args.data_dir)
    _, pred = clf.predict(images)
    truth = torch.arange(len(rows)).repeat_interleave(8)
    print(f"held-out captions: {(pred == truth).float().mean():.2f} of the images show the "
          f"named class (chance 0.10)")
    for c, text in enumerate(rows):
        print(f"  row {c}: {text!r}")

    mine = args.caption or DEFAULT_CAPTIONS
    images = model.sample(8 * len(mine), [t for t in mine for _ in range(8)])
    save_grid(images, model.shape, out / "captions.png", nrow=len(mine))
    known = set(model.vocabulary.words)
    for text in mine:
        unknown = [w for w in captions.words(text) if w not in known]
        note = f" (unknown words ignored: {', '.join(unknown)})" if unknown else ""
        print(f"  {text!r}{note}")
    print(f"wrote {out / 'held_out.png'} and {out / 'captions.png'}")


if __name__ == "__main__":
    main()
