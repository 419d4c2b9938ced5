"""Generative adversarial networks: implicit models, trained by :mod:`pgm.infer.adversarial`."""

from pgm.adversarial.base import AdversarialModel
from pgm.adversarial.dcgan import DCGAN
from pgm.adversarial.gan import GAN

__all__ = ["AdversarialModel", "GAN", "DCGAN"]
