"""Generative adversarial networks: implicit models, trained by :mod:`pgm.infer.adversarial`."""

from pgm.adversarial.base import AdversarialModel
from pgm.adversarial.dcgan import DCGAN
from pgm.adversarial.gan import GAN
from pgm.adversarial.infogan import InfoGAN

__all__ = ["AdversarialModel", "GAN", "DCGAN", "InfoGAN"]
