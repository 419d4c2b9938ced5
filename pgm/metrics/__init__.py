"""Every metric of pgm, in one package; each name is importable from here.

* :mod:`pgm.metrics.likelihood`: negative log-likelihood and bits per dimension
  (:func:`evaluate`, which is :func:`pgm.evaluate`), anomaly AUROC, linear probes;
* :mod:`pgm.metrics.samples`: sample quality for every model, implicit ones included
  (Fréchet distance in a small classifier's features, class coverage, energy distance);
* :mod:`pgm.metrics.translation`: a translator's errors against the known answer;
* :mod:`pgm.metrics.codes`: how well an unsupervised code (InfoGAN's) matches labels.
"""

from pgm.metrics.codes import code_table, matched_error, unsupervised_error
from pgm.metrics.likelihood import auroc, bits_per_dim, evaluate, linear_probe, nll
from pgm.metrics.samples import (
    CLASSIFIER_LIMIT,
    LABELLED,
    Classifier,
    class_coverage,
    classifier,
    energy_distance,
    frechet_distance,
    gaussian_frechet,
    sample_quality,
    train_classifier,
)
from pgm.metrics.translation import translation_errors

__all__ = ["CLASSIFIER_LIMIT", "LABELLED", "Classifier", "auroc", "bits_per_dim",
           "class_coverage", "classifier", "code_table", "energy_distance", "evaluate",
           "frechet_distance", "gaussian_frechet", "linear_probe", "matched_error", "nll",
           "sample_quality", "train_classifier", "translation_errors", "unsupervised_error"]
