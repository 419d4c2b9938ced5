"""Captions built from class labels, for text-conditioned generation.

Reed et al. (2016) condition a GAN on image descriptions. The labelled image sets pgm
reads have no descriptions, so they are written here from the labels: each class has
a few names (``"a pair of trousers"``, ``"some trousers"``, ...) and each name goes into
sentence templates (``"a photo of {}"``, ...). Every (template, name) pair is one
caption; a fixed fifth of them is held out of training, so a model can be asked for
images from captions it never saw. Held-out captions are new sentences, not new words:
every word of them occurs in some training caption (checked by the tests).

:class:`Vocabulary` turns captions into padded rows of word indices for a text encoder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch

from pgm.errors import UnknownNameError

#: names of each class, by labelled data set (class order = label order)
NAMES: dict[str, list[list[str]]] = {
    "fashion-mnist": [
        ["a t-shirt", "a top", "a short sleeved top"],
        ["a pair of trousers", "some trousers", "a pair of pants"],
        ["a pullover", "a sweater", "a warm jumper"],
        ["a dress", "a summer dress", "a long dress"],
        ["a coat", "a winter coat", "a jacket"],
        ["a sandal", "an open summer shoe", "a pair of sandals"],
        ["a shirt", "a button shirt", "a long sleeved shirt"],
        ["a sneaker", "a sports shoe", "a running shoe"],
        ["a bag", "a handbag", "a leather bag"],
        ["an ankle boot", "a boot", "a short leather boot"],
    ],
    "mnist": [
        [f"a handwritten {w}", f"the digit {d}", f"a {w}"]
        for d, w in enumerate(["zero", "one", "two", "three", "four", "five", "six",
                               "seven", "eight", "nine"])
    ],
    "shapes": [
        ["a filled rectangle", "a solid box", "a white block"],
        ["a rectangle outline", "an empty box", "the outline of a box"],
        ["a ring", "a circle", "a round outline"],
        ["a stroke", "a line", "a straight stroke"],
    ],
}
for _alias in ("mnist-test", "binarized-mnist"):
    NAMES[_alias] = NAMES["mnist"]

#: sentence templates, ``{}`` standing for a class name
TEMPLATES = ["{}", "a photo of {}", "a picture of {}", "an image of {}", "a small picture of {}",
             "a grey photo of {}", "{} on a black background", "a drawing of {}"]

#: one caption in this many is held out of training
HOLD_OUT_EVERY = 5

PAD, UNKNOWN = "<pad>", "<unk>"


def _names(data: str) -> list[list[str]]:
    if data not in NAMES:
        raise UnknownNameError(f"data: no captions for {data!r}; expected one of {sorted(NAMES)}")
    return NAMES[data]


def captions(data: str, split: str = "train") -> list[tuple[str, int]]:
    """The ``(caption, label)`` pairs of ``data``: ``"train"`` or ``"held_out"`` ones.

    Caption ``(template t, name j, class c)`` is held out when
    ``(t + j + c) % HOLD_OUT_EVERY == 0``, which spreads the held-out sentences over
    every class and template.
    """
    if split not in ("train", "held_out"):
        raise ValueError(f"split: expected 'train' or 'held_out', got {split!r}")
    out = []
    for c, names in enumerate(_names(data)):
        for j, name in enumerate(names):
            for t, template in enumerate(TEMPLATES):
                held = (t + j + c) % HOLD_OUT_EVERY == 0
                if held == (split == "held_out"):
                    out.append((template.format(name), c))
    return out


def by_class(data: str, split: str = "train") -> list[list[str]]:
    """The captions of :func:`captions` grouped by class: ``[class 0's, class 1's, ...]``."""
    out: list[list[str]] = [[] for _ in _names(data)]
    for text, c in captions(data, split):
        out[c].append(text)
    return out


def describe(labels: torch.Tensor, data: str, seed: int = 0) -> list[str]:
    """One training caption per label ``(n,)``, drawn uniformly among its class's with
    ``seed`` (the global random state is left alone)."""
    groups = by_class(data, "train")
    labels = torch.as_tensor(labels).long()
    if labels.ndim != 1 or (len(labels) and not 0 <= int(labels.min()) <= int(labels.max())
                            < len(groups)):
        raise ValueError(f"labels: expected (n,) class labels in 0..{len(groups) - 1}, got "
                         f"shape {tuple(labels.shape)}")
    g = torch.Generator().manual_seed(seed)
    pick = torch.randint(1 << 30, (len(labels),), generator=g)
    out = []
    for c, i in zip(labels.tolist(), pick.tolist(), strict=True):
        out.append(groups[c][i % len(groups[c])])
    return out


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (letters, digits and inner hyphens)."""
    return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", text.lower())


class Vocabulary:
    """Word indices for captions: 0 pads, 1 stands for a word not in the vocabulary.

    :param texts: the captions whose words make up the vocabulary (sorted, so the
        indices do not depend on the order of ``texts``).
    """

    def __init__(self, texts: Sequence[str]):
        self.words = [PAD, UNKNOWN] + sorted({w for t in texts for w in words(t)})
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, texts: Sequence[str], length: int | None = None) -> torch.Tensor:
        """Word indices ``(n, S)`` of ``texts``, padded with 0 to the longest (or ``length``,
        truncating longer ones)."""
        if isinstance(texts, str):
            raise TypeError("texts: expected a list of captions, got one string")
        rows = [[self.index.get(w, 1) for w in words(t)] or [1] for t in texts]
        s = length if length is not None else max((len(r) for r in rows), default=1)
        out = torch.zeros(len(rows), s, dtype=torch.long)
        for i, r in enumerate(rows):
            out[i, : min(s, len(r))] = torch.tensor(r[:s])
        return out

    def decode(self, tokens: torch.Tensor) -> list[str]:
        """The captions ``(n,)`` of word indices ``(n, S)`` (padding dropped)."""
        return [" ".join(self.words[i] for i in row.tolist() if i) for row in tokens]
