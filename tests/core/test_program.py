"""A user's own Pyro model as a pgm model: fitting, mini-batches, enumeration, errors."""

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro.infer import TraceEnum_ELBO
from pyro.nn import PyroModule, PyroSample

import pgm
import pgm.posterior
from pgm.core.program import ModelError, Program, load_source
from pgm.errors import CheckpointError, DataError
from pgm.infer import checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")


FLIPS = (torch.rand(200, generator=torch.Generator().manual_seed(1)) < 0.7).float()


def coin(flips):
    p = pyro.sample("p", dist.Beta(2.0, 2.0))
    with pyro.plate("data", len(flips)) as i:
        pyro.sample("flip", dist.Bernoulli(p), obs=flips[i])


def exact_coin(flips):
    return dist.Beta(2.0 + flips.sum(), 2.0 + (1 - flips).sum())


def test_fit_a_plain_function_with_an_automatic_guide():
    s = pgm.fit(coin, data={"flips": FLIPS}, guide="auto_normal", epochs=600, lr=0.05,
                progress=False, log_every=0)
    prog = s["model"]
    assert isinstance(prog, Program) and prog.latent == ["p"] and prog.observed == ["flip"]
    # AutoNormal's location, pushed through the sigmoid, is the posterior's median,
    # within 0.001 of the mean of this nearly symmetric Beta(~140, ~60)
    loc = prog.auto.locs.p.detach()
    assert abs(torch.sigmoid(loc) - exact_coin(FLIPS).mean) < 0.01


def test_mini_batches_feed_the_data_plate_and_scale_it():
    prog = Program(coin, "auto_normal", {"flips": FLIPS})
    assert prog.num_data == 200 and torch.equal(prog.indices(), torch.arange(200))
    idx = torch.tensor([3, 5, 7, 11])
    tr = pyro.poutine.trace(prog.model).get_trace(idx, num_data=200)
    site = tr.nodes["flip"]
    assert torch.equal(site["value"], FLIPS[idx]) and site["scale"] == 50.0
    # a full batch is not rescaled
    tr = pyro.poutine.trace(prog.model).get_trace(prog.indices(), num_data=200)
    assert tr.nodes["flip"]["value"].shape == (200,) and tr.nodes["flip"]["scale"] == 1.0


def test_mini_batch_fit_reaches_the_full_batch_answer():
    prog = Program(coin, "auto_delta", {"flips": FLIPS})
    pgm.fit(prog, epochs=150, batch_size=50, lr=0.02, progress=False, log_every=0)
    a, b = 2.0 + FLIPS.sum(), 2.0 + (1 - FLIPS).sum()
    mode = (a - 1) / (a + b - 2)  # AutoDelta finds the MAP
    assert abs(prog.auto.p.detach() - mode) < 0.02


def mixture(x):
    locs = pyro.sample("locs", dist.Normal(0.0, 10.0).expand([2]).to_event(1))
    with pyro.plate("data", len(x)):
        z = pyro.sample("z", dist.Categorical(torch.ones(2) / 2),
                        infer={"enumerate": "parallel"})
        pyro.sample("x", dist.Normal(locs[z], 1.0), obs=x)


def test_enumerated_sites_pick_traceenum_and_are_left_to_the_model():
    x = torch.cat([torch.randn(50) - 3, torch.randn(50) + 3])
    prog = Program(mixture, "auto_delta", {"x": x})
    assert prog.enumerated == ["z"] and isinstance(prog.elbo(), TraceEnum_ELBO)
    assert prog.latent == ["locs", "z"]
    pgm.fit(prog, epochs=300, lr=0.05, progress=False, log_every=0)
    locs = prog.auto.locs.detach().sort().values
    assert torch.allclose(locs, torch.tensor([-3.0, 3.0]), atol=0.4)


def test_a_model_whose_latents_are_all_enumerated_needs_no_guide():
    def model(x):
        probs = pyro.param("probs", torch.ones(2) / 2, constraint=dist.constraints.simplex)
        with pyro.plate("data", len(x)):
            z = pyro.sample("z", dist.Categorical(probs), infer={"enumerate": "parallel"})
            pyro.sample("x", dist.Normal(torch.tensor([-2.0, 2.0])[z], 1.0), obs=x)

    x = torch.cat([torch.randn(80) - 2, torch.randn(20) + 2])
    prog = Program(model, None, {"x": x})
    pgm.fit(prog, epochs=200, lr=0.05, progress=False, log_every=0)
    assert abs(prog.param("probs")[0] - 0.8) < 0.08


def test_params_are_private_to_each_program_and_checkpointed(tmp_path):
    def model(x):
        m = pyro.param("m", torch.zeros(()))
        with pyro.plate("data", len(x)):
            pyro.sample("x", dist.Normal(m, 1.0), obs=x)

    a = Program(model, None, {"x": torch.full((10,), 4.0)})
    b = Program(model, None, {"x": torch.full((10,), -4.0)})
    pgm.fit(a, epochs=100, lr=0.1, progress=False, log_every=0, out=tmp_path)
    pgm.fit(b, epochs=100, lr=0.1, progress=False, log_every=0)
    assert a.param("m") > 3.5 and b.param("m") < -3.5
    assert "m" not in pyro.get_param_store()  # the global store is untouched
    c = Program(model, None, {"x": torch.full((10,), 4.0)})
    checkpoint.restore(c, checkpoint.load(tmp_path))
    assert c.param("m") == a.param("m")
    with pytest.raises(CheckpointError, match="from_spec"):
        checkpoint.load_model(tmp_path)  # a user's function is not in the registry


def test_resume_equals_an_uninterrupted_run(tmp_path):
    def run(out, epochs, resume=False, prog=None):
        prog = prog or Program(coin, "auto_normal", {"flips": FLIPS})
        pgm.fit(prog, epochs=epochs, batch_size=40, lr=0.05, progress=False, log_every=0,
                seed=3, out=out, resume=resume)
        return prog

    whole = run(tmp_path / "a", 20)
    run(tmp_path / "b", 10)
    resumed = run(tmp_path / "b", 20, resume=True)
    for p, q in zip(whole.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(p, q)


class Regression(PyroModule):
    def __init__(self):
        super().__init__()
        self.linear = PyroModule[torch.nn.Linear](1, 1)
        self.linear.weight = PyroSample(dist.Normal(0.0, 5.0).expand([1, 1]).to_event(2))
        self.linear.bias = PyroSample(dist.Normal(0.0, 5.0).expand([1]).to_event(1))

    def forward(self, x, y):
        mean = self.linear(x[:, None]).squeeze(-1)
        with pyro.plate("data", len(x)) as i:
            pyro.sample("y", dist.Normal(mean[i], 0.1), obs=y[i])


def test_a_pyro_module_model():
    x = torch.linspace(-1, 1, 50)
    prog = Program(Regression(), "auto_diagonal_normal", {"x": x, "y": 2 * x + 1})
    assert sorted(prog.latent) == ["linear.bias", "linear.weight"]
    pgm.fit(prog, epochs=800, lr=0.03, progress=False, log_every=0)
    loc = prog.auto.get_posterior().mean.detach()  # weight, bias in site order
    assert torch.allclose(loc.sort().values, torch.tensor([1.0, 2.0]), atol=0.05)


# ---- bad input --------------------------------------------------------------------


def test_a_failing_model_names_the_site_and_chains_the_exception():
    def broken(x):
        a = pyro.sample("a", dist.Normal(0.0, 1.0))
        pyro.sample("b", dist.Normal(a + torch.zeros(3) + x, 1.0))  # x has 4 entries

    # the failure is in building site 'b''s distribution, before Pyro sees 'b'
    with pytest.raises(ModelError, match=r"model 'broken' raised RuntimeError at site 'b' "
                                         r"\(building its arguments, test_program.py:\d+\)"
                       ) as e:
        Program(broken, "auto_normal", {"x": torch.zeros(4)})
    assert isinstance(e.value.__cause__, RuntimeError)

    def after(x):
        pyro.sample("a", dist.Normal(0.0, 1.0))
        with pyro.plate("data", len(x)):  # a plate's subsample site is not the user's site
            raise RuntimeError("oops")

    with pytest.raises(ModelError, match="raised RuntimeError after site 'a': oops"):
        Program(after, "auto_normal", {"x": torch.zeros(4)})

    def mismatched(x):
        pyro.sample("b", dist.Normal(torch.zeros(3), 1.0), obs=x)

    with pytest.raises(ModelError, match="(?s)site 'b'.*not broadcastable"):
        Program(mismatched, None, {"x": torch.zeros(4)})


def test_values_a_distribution_cannot_score_fail_up_front():
    with pytest.raises(ModelError, match="flip"):
        Program(coin, "auto_normal", {"flips": torch.full((10,), 2.0)})


def test_a_guide_that_does_not_match_the_model():
    def guide(flips):
        pyro.sample("q", dist.Beta(1.0, 1.0))

    with pytest.raises(ModelError, match=r"missing \['p'\].*not in the model \['q'\]"):
        Program(coin, guide, {"flips": FLIPS})


def test_data_the_model_does_not_accept():
    with pytest.raises(DataError, match=r"accepts .*\['flips'\].* \['rolls'\]"):
        Program(coin, "auto_normal", {"flips": FLIPS, "rolls": FLIPS})


def test_nan_in_the_data():
    bad = FLIPS.clone()
    bad[3] = float("nan")
    with pytest.raises(DataError, match=r"data\['flips'\].*1 NaN"):
        Program(coin, "auto_normal", {"flips": bad})


def test_unknown_guide_names_and_missing_guides():
    with pytest.raises(ModelError, match="auto_normal"):
        Program(coin, "auto_magic", {"flips": FLIPS})
    with pytest.raises(ModelError, match=r"latent sites \['p'\] that are not enumerated"):
        Program(coin, None, {"flips": FLIPS})
    assert Program(coin, "AutoNormal", {"flips": FLIPS}).config["guide"] == "AutoNormal"


def test_fit_of_something_not_callable():
    with pytest.raises(TypeError, match="model: expected"):
        pgm.fit(42)
    with pytest.raises(TypeError, match="data: only for a plain Pyro model"):
        pgm.fit(pgm.build("bernoulli", shape=(1, 2, 2)), torch.zeros(3, 4), data={"x": 1})


def test_load_source(tmp_path):
    good = tmp_path / "m.py"
    good.write_text("import pyro\ndef model(x):\n    return x\n")
    fn, module = load_source(f"{good}:model")
    assert fn(3) == 3 and module.model is fn
    with pytest.raises(ModelError, match="has no function 'other'.*\\['model'\\]"):
        load_source(f"{good}:other")
    with pytest.raises(ModelError, match="does not exist"):
        load_source(f"{tmp_path / 'missing.py'}:model")
    with pytest.raises(ModelError, match="FILE.py:NAME"):
        load_source(str(good))
    bad = tmp_path / "bad.py"
    bad.write_text("import pyro\nraise RuntimeError('my own failure')\n")
    with pytest.raises(ModelError, match="importing .*bad.py raised RuntimeError: my own"):
        load_source(f"{bad}:model")


def die(rolls):
    probs = pyro.sample("probs", dist.Dirichlet(torch.ones(4)))
    with pyro.plate("data", len(rolls)) as i:
        pyro.sample("roll", dist.Categorical(probs), obs=rolls[i])


@pytest.mark.parametrize("guide", sorted(pgm.core.program.AUTOGUIDES))
def test_every_automatic_guide_fits(guide):
    rolls = torch.tensor([0] * 10 + [1] * 20 + [2] * 30 + [3] * 40)
    prog = Program(die, guide, {"rolls": rolls})
    s = pgm.fit(prog, epochs=300, lr=0.05, progress=False, log_every=0)
    first, last = s["history"][0]["train_loss"], s["history"][-1]["train_loss"]
    assert last < first
    # every guide's draws (a point for AutoDelta) sit near the exact posterior mean
    draws = pgm.posterior.posterior(prog, num_samples=400).posterior["probs"].values
    exact = (1 + torch.tensor([10.0, 20, 30, 40])) / 104
    assert torch.allclose(torch.as_tensor(draws).mean((0, 1)), exact.float(), atol=0.04)


def test_with_data_keeps_the_fitted_parameters_on_new_data():
    prog = Program(coin, "auto_normal", {"flips": FLIPS})
    pgm.fit(prog, epochs=50, lr=0.05, progress=False, log_every=0)
    other = prog.with_data(flips=FLIPS[:7])
    assert other.num_data == 7 and other.config == prog.config
    assert torch.equal(other.auto.locs.p, prog.auto.locs.p)
