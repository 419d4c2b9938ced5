"""Every model family of pgm; importing this module registers their models."""

import pgm.adversarial  # noqa: F401  gan, dcgan
import pgm.autoregressive  # noqa: F401  fvsbn, nade, rnade, pixelrnn
import pgm.latent  # noqa: F401  mixture, vae, aae
import pgm.structure  # noqa: F401  bernoulli
