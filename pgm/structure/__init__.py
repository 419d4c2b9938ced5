"""Structure through independence: models over binary pixels with explicit likelihoods."""

from pgm.structure.independent import IndependentBernoulli

__all__ = ["IndependentBernoulli"]
