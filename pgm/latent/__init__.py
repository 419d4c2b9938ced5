"""Latent-variable models: a latent z, a decoder p(x | z), inference by a guide."""

from pgm.latent.aae import AdversarialAutoencoder
from pgm.latent.mixture import BernoulliMixture
from pgm.latent.vae import VAE

__all__ = ["AdversarialAutoencoder", "BernoulliMixture", "VAE"]
