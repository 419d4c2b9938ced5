"""pgm: deep generative models as Pyro model/guide pairs.

Declare a model, fit it by SVI (or adversarially), inspect what it learned::

    import pgm
    train = pgm.data.load("shapes", "train")
    model = pgm.build("mixture", components=20)
    pgm.fit(model, train.x, epochs=5)
    model.log_prob(train.x[:10])    # nats per image
    model.sample(16)                # (16, 784)
"""

from pgm import data, errors
from pgm.core import GenerativeModel, build, names, register
from pgm.infer import TrainConfig, evaluate, fit, load_model

__version__ = "0.1.0"
__all__ = ["GenerativeModel", "build", "names", "register", "fit", "TrainConfig", "evaluate",
           "load_model", "data", "errors"]
