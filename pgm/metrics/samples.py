"""Sample-quality metrics that apply to every generative model, implicit ones included.

A GAN has no likelihood, so it is judged by its samples. pgm compares samples with real
images in the feature space of a small convolutional classifier that it trains itself on
labelled data (:func:`classifier`), and reports

* :func:`frechet_distance` between the Gaussians fitted to the two sets of features
  (Heusel et al., 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
  Nash Equilibrium"): ``|mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a^1/2 C_b C_a^1/2)^1/2)``;
* :func:`class_coverage`, the share of samples the classifier puts in each class, which
  shows missing modes (Salimans et al., 2016, and Srivastava et al., 2017, count modes
  with a pretrained classifier in the same way);
* :func:`energy_distance` (Székely & Rizzo, 2013), a two-sample distance on raw vectors.

**This is not the FID of papers.** The FID reported in the literature uses the pool
features of an Inception-v3 network trained on ImageNet; pgm's classifier is a small CNN
trained for seconds on MNIST digits (``mnist-test``'s training split, grey and binarized)
or Fashion-MNIST. Its Fréchet distances are comparable between pgm's models on the same
data, classifier and sample sizes, and not with published FID values.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from pgm import data as pgm_data
from pgm.core.base import evaluating
from pgm.errors import DataError, check_positive_int
from pgm.io import atomic_write

#: the labelled data set whose classifier judges samples of each data set
LABELLED = {"binarized-mnist": "mnist-test", "mnist-test": "mnist-test",
            "fashion-mnist": "fashion-mnist", "shapes": "shapes"}
#: training images of the classifier (at most)
CLASSIFIER_LIMIT = 10_000


# ---- distances -----------------------------------------------------------------------


def _sqrtm_psd(c: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    w, v = torch.linalg.eigh(c)
    return (v * w.clamp_min(0).sqrt()) @ v.T


def frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """Fréchet (2-Wasserstein) distance between Gaussians fitted to two feature sets.

    ``|mu_a - mu_b|^2 + tr(C_a) + tr(C_b) - 2 tr((C_a^1/2 C_b C_a^1/2)^1/2)`` with means
    and (unbiased) covariances of ``feats_a`` ``(n, F)`` and ``feats_b`` ``(m, F)``,
    computed in float64; the matrix square roots come from eigendecompositions of
    symmetric matrices (negative round-off eigenvalues are set to 0).
    """
    for name, f in (("feats_a", feats_a), ("feats_b", feats_b)):
        if f.dim() != 2 or f.shape[0] < 2:
            raise ValueError(f"{name}: expected (n, F) features with n >= 2, "
                             f"got {tuple(f.shape)}")
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"feats_a, feats_b: expected the same width, got {feats_a.shape[1]} "
                         f"and {feats_b.shape[1]}")
    a, b = feats_a.double(), feats_b.double()
    cov_a, cov_b = (torch.cov(t.T).reshape(t.shape[1], t.shape[1]) for t in (a, b))  # (F, F)
    return max(gaussian_frechet(a.mean(0), cov_a, b.mean(0), cov_b), 0.0)


def energy_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Energy distance ``2 E|X - Y| - E|X - X'| - E|Y - Y'|`` of samples ``(n, D)``, ``(m, D)``.

    Zero exactly when the two distributions are equal (Székely & Rizzo, 2013); the
    within-sample terms leave out the zero diagonal. Float64.
    """
    a, b = a.double().flatten(1), b.double().flatten(1)
    if a.shape[0] < 2 or b.shape[0] < 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"a, b: expected (n, D) and (m, D) with n, m >= 2, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    return float(2 * torch.cdist(a, b).mean() - torch.pdist(a).mean() - torch.pdist(b).mean())


def class_coverage(labels_pred: torch.Tensor, classes: int) -> torch.Tensor:
    """The share of samples in each class, ``(classes,)``, summing to 1.

    :param labels_pred: predicted labels ``(n,)`` in ``0 .. classes-1``.
    """
    check_positive_int(classes, "classes")
    labels_pred = torch.as_tensor(labels_pred).long().flatten()
    if labels_pred.numel() == 0:
        raise ValueError("labels_pred: expected at least one label")
    if labels_pred.min() < 0 or labels_pred.max() >= classes:
        raise ValueError(f"labels_pred: expected labels in 0..{classes - 1}, got "
                         f"{int(labels_pred.min())}..{int(labels_pred.max())}")
    counts = torch.bincount(labels_pred, minlength=classes).double()
    return counts / counts.sum()


# ---- the feature classifier ----------------------------------------------------------


class Classifier(nn.Module):
    """A small CNN for 28x28 single-channel images; its penultimate layer gives the features.

    ``x (B, 784) -> (B, 1, 28, 28) -> Conv 3x3 s2 (32) -> ReLU -> Conv 3x3 s2 (64) -> ReLU
    -> Linear (features) -> ReLU -> Linear -> logits (B, classes)``
    """

    def __init__(self, classes: int = 10, features: int = 128):
        super().__init__()
        self.classes = classes
        self.conv = nn.Sequential(nn.Conv2d(1, 32, 3, 2, 1), nn.ReLU(),  # 28 -> 14
                                  nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU())  # 14 -> 7
        self.hidden = nn.Linear(64 * 7 * 7, features)
        self.out = nn.Linear(features, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations ``(B, features)`` of images ``(B, 784)``."""
        h = self.conv(x.reshape(x.shape[0], 1, 28, 28)).flatten(1)  # (B, 64*7*7)
        return F.relu(self.hidden(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))  # (B, classes)

    @torch.no_grad()
    def predict(self, x: torch.Tensor,
                batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features (n, F), labels (n,))`` of images ``x`` ``(n, 784)``, in chunks."""
        with evaluating(self):
            feats = torch.cat([self.features(x[i : i + batch_size])
                               for i in range(0, len(x), batch_size)])
        return feats, self.out(feats).argmax(1)


def train_classifier(data: str = "mnist-test", seed: int = 0, epochs: int = 3,
                     data_dir: str | Path | None = None) -> tuple[Classifier, float]:
    """Train :class:`Classifier` on a labelled data set's training split; returns it and
    its accuracy on the validation split.

    Grey data sets are used both grey and binarized (with the data set's fixed seed), so
    the classifier reads binary data and grey samples alike. Training is seeded by
    ``seed`` through its own generator; the global random state is left alone.
    """
    if data not in set(LABELLED.values()):
        raise ValueError(f"data: expected a labelled data set, one of "
                         f"{sorted(set(LABELLED.values()))}, got {data!r}")
    train, valid = (pgm_data.load(data, s, data_dir=data_dir, limit=CLASSIFIER_LIMIT)
                    for s in ("train", "valid"))
    x, y = train.x, train.y
    if not train.binary:
        x, y = torch.cat([x, pgm_data.binarize(x, seed=0)]), torch.cat([y, y])
    g = torch.Generator().manual_seed(seed)
    state = torch.get_rng_state()
    torch.manual_seed(seed)
    clf = Classifier(classes=int(y.max()) + 1)
    torch.set_rng_state(state)
    opt = torch.optim.Adam(clf.parameters(), lr=1e-3)
    for _ in range(check_positive_int(epochs, "epochs")):
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 128):
            idx = order[i : i + 128]
            loss = F.cross_entropy(clf(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    _, pred = clf.predict(valid.x)
    return clf.eval(), float((pred == valid.y).float().mean())


def classifier(data: str, cache: str | Path | None = None, seed: int = 0,
               data_dir: str | Path | None = None) -> tuple[Classifier, dict]:
    """The classifier that judges samples of ``data`` (see :data:`LABELLED`), cached.

    Read from ``cache/classifier-{labelled}-seed{seed}.pt`` when there, else trained
    (:func:`train_classifier`) and written there atomically. ``cache`` defaults to
    ``pgm.data.cache_dir() / "classifiers"``. Returns ``(classifier, info)``, ``info``
    with the labelled data set, its validation ``accuracy`` and the ``path``.
    """
    if data not in LABELLED:
        raise ValueError(f"data: no labelled data set to judge samples of {data!r}; "
                         f"expected one of {sorted(LABELLED)}")
    labelled = LABELLED[data]
    cache = Path(cache) if cache is not None else pgm_data.cache_dir() / "classifiers"
    path = cache / f"classifier-{labelled}-seed{seed}.pt"
    if path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        clf = Classifier(classes=saved["classes"])
        clf.load_state_dict(saved["state_dict"])
        return clf.eval(), {"data": labelled, "accuracy": saved["accuracy"], "path": str(path)}
    clf, accuracy = train_classifier(labelled, seed, data_dir=data_dir)
    with atomic_write(path) as f:
        torch.save({"state_dict": clf.state_dict(), "classes": clf.classes,
                    "accuracy": accuracy, "data": labelled}, f)
    return clf, {"data": labelled, "accuracy": accuracy, "path": str(path)}


def sample_quality(samples: torch.Tensor, real: torch.Tensor, clf: Classifier) -> dict:
    """Fréchet distance in ``clf``'s feature space and class coverage of ``samples``.

    :param samples: generated images ``(n, 784)``.
    :param real: real images ``(m, 784)`` of the data set ``clf`` judges.
    :returns: ``frechet_distance``, ``class_coverage`` (a list, one share per class),
        ``classes_covered`` (classes with at least half their uniform share),
        ``coverage_entropy_bits`` (``log2 classes`` when every class has an equal share)
        and ``n``.
    """
    if samples.dim() != 2 or samples.shape[1] != 784 or real.dim() != 2 \
            or real.shape[1] != 784:
        raise DataError(f"samples, real: expected (n, 784) images, got "
                        f"{tuple(samples.shape)} and {tuple(real.shape)}")
    f_fake, labels = clf.predict(samples.float())
    f_real, _ = clf.predict(real.float())
    cover = class_coverage(labels, clf.classes)
    p = cover[cover > 0]
    return {"frechet_distance": frechet_distance(f_fake, f_real),
            "class_coverage": cover.tolist(),
            "classes_covered": int((cover >= 0.5 / clf.classes).sum()),
            "coverage_entropy_bits": float(-(p * p.log2()).sum()) + 0.0,
            "n": int(samples.shape[0])}


def gaussian_frechet(mu_a: torch.Tensor, cov_a: torch.Tensor, mu_b: torch.Tensor,
                     cov_b: torch.Tensor) -> float:
    """Fréchet distance between ``N(mu_a, cov_a)`` and ``N(mu_b, cov_b)`` (float64).

    ``tr((C_a^1/2 C_b C_a^1/2)^1/2)`` is the sum of the square roots of the eigenvalues of
    the symmetric matrix ``C_a^1/2 C_b C_a^1/2``.
    """
    mu_a, cov_a, mu_b, cov_b = (t.double() for t in (mu_a, cov_a, mu_b, cov_b))
    s = _sqrtm_psd(cov_a)
    cross = torch.linalg.eigvalsh(s @ cov_b @ s).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)

