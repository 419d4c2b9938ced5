"""How well an unsupervised code matches labels it never saw (InfoGAN's categorical code).

Code values are matched to labels one to one so as to agree with the most images (the
Hungarian algorithm), and the error is the fraction of images whose matched label is
wrong (Chen et al. 2016, Sec. 7.1). (These lived in ``pgm.adversarial.infogan``, which
re-exports them for one release.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from pgm.adversarial.infogan import InfoGAN

__all__ = ["code_table", "matched_error", "unsupervised_error"]


def unsupervised_error(model: InfoGAN, x: torch.Tensor, y: torch.Tensor) -> float:
    """Classification error of the categorical code on labelled images (Chen et al., Sec. 7.1).

    Each image's code is ``argmax Q(c_cat | x)``; code values are matched to labels one to
    one so as to agree with the most images (the Hungarian algorithm); the error is the
    fraction of images whose matched label is wrong.
    """
    probs, _ = model.infer_codes(x)
    return matched_error(probs.argmax(1), y)


def matched_error(codes: torch.Tensor, labels: torch.Tensor) -> float:
    """Error of ``codes`` ``(n,)`` as ``labels`` ``(n,)`` under the best one-to-one map."""
    from scipy.optimize import linear_sum_assignment

    counts = code_table(codes, labels)  # (K, C)
    rows, cols = linear_sum_assignment(counts.numpy(), maximize=True)
    return 1.0 - float(counts[rows, cols].sum()) / len(codes)


def code_table(codes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """How many images of each label ``(n,)`` got each code value ``(n,)``: ``(K, C)``
    counts, one row per code value (the confusion matrix before any matching)."""
    codes, labels = codes.long().cpu(), labels.long().cpu()
    if codes.shape != labels.shape or codes.ndim != 1 or not len(codes):
        raise ValueError(f"codes, labels: expected two (n,) tensors, n > 0; got "
                         f"{tuple(codes.shape)} and {tuple(labels.shape)}")
    counts = torch.zeros(int(codes.max()) + 1, int(labels.max()) + 1, dtype=torch.long)
    counts.index_put_((codes, labels), torch.ones_like(codes), accumulate=True)
    return counts
