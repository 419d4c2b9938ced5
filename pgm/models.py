"""Every model family of pgm; importing this module registers their models.

``pgm/__init__.py`` imports it, so the built-in models are registered whenever ``pgm`` is
imported; :mod:`pgm.core` never imports it (nor any family).
"""

import pgm.adversarial  # noqa: F401  gan, dcgan
import pgm.autoregressive  # noqa: F401  fvsbn, nade, rnade, pixelrnn
import pgm.latent  # noqa: F401  mixture, vae, aae
import pgm.structure  # noqa: F401  bernoulli
