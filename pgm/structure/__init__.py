"""Structure through independence: models over binary variables with explicit likelihoods,
parameter counts, and exact inference in small Bayesian networks."""

from pgm.structure import counting
from pgm.structure.independent import IndependentBernoulli
from pgm.structure.tables import AutoregressiveTable, JointTable, MarkovChain

__all__ = ["AutoregressiveTable", "IndependentBernoulli", "JointTable", "MarkovChain",
           "counting"]
