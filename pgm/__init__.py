"""pgm: deep generative models as Pyro model/guide pairs.

Declare a model, fit it by SVI (or adversarially), inspect what it learned::

    import pgm
    train = pgm.data.load("shapes", "train")
    model = pgm.build("mixture", components=20)
    pgm.fit(model, train.x, epochs=5)
    model.log_prob(train.x[:10])    # nats per image
    model.sample(16)                # (16, 784)
    pgm.load("runs/vae-...")        # the fitted model of any run folder
"""

# ``models`` imports every built-in model family, which registers its models: importing it
# here, at the package top, is what makes ``pgm.build("vae")`` (and ``pgm.core.build``) know
# them. The registry in pgm.core never imports a family itself.
from pgm import data, errors, metrics, models  # noqa: F401
from pgm.core import GenerativeModel, build, names, register
from pgm.infer import TrainConfig, evaluate, fit, load_model
from pgm.infer import load_run as load

__version__ = "0.1.0"
__all__ = ["GenerativeModel", "build", "names", "register", "fit", "TrainConfig", "evaluate",
           "load", "load_model", "data", "errors", "metrics"]
