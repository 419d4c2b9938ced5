"""PixelRNN: the masks keep the future out, the conditionals make a distribution."""

import itertools

import pytest
import torch

import pgm
from pgm.autoregressive.pixelrnn import skew, unskew


def tiny(shape, layer, **kw):
    torch.manual_seed(0)
    return pgm.build("pixelrnn", shape=shape, hidden=6, layers=2, layer=layer, **kw).double()


def dependence(model, points: int = 3) -> torch.Tensor:
    """``J[i, j]``: whether logit ``i`` moves with input ``j`` (both flattened (C, H, W)) at
    any of a few random inputs (one input may sit where a path's gradient is exactly 0)."""
    g = torch.Generator().manual_seed(1)
    dep = torch.zeros(model.dim, model.dim, dtype=torch.bool)
    for _ in range(points):
        x = torch.rand(1, model.dim, dtype=torch.float64, generator=g)
        jac = torch.autograd.functional.jacobian(lambda v: model.logits(v)[0], x)[:, 0]
        dep |= jac.abs() > 1e-12  # (D, D)
    return dep


@pytest.mark.parametrize("layer", ["row", "diagonal"])
@pytest.mark.parametrize("shape", [(1, 5, 5), (3, 4, 5)])
def test_no_conditional_sees_its_own_pixel_or_later_ones(layer, shape):
    model = tiny(shape, layer)
    dep = dependence(model)
    position = model.inverse  # flattened (C, H, W) index -> place in the ordering
    later = position[None, :] >= position[:, None]  # input j comes at or after output i
    assert not (dep & later).any()
    # ... and they do see the past: the pixel to the left, the one above, earlier channels
    c, hgt, w = shape
    last = (c - 1) * hgt * w + hgt * w - 1  # last channel of the last pixel
    for before in (last - 1, last - w, (c - 2) * hgt * w + hgt * w - 1 if c > 1 else 0):
        assert dep[last, before], before


def test_the_diagonal_layers_see_the_whole_past_and_the_row_layers_a_triangle():
    # the pixel at the end of row 1 depends on the start of row 0 through the diagonal LSTM's
    # left-to-right pass; the Row LSTM's triangle (3-wide kernels, 2 layers) misses it
    shape, target, source = (1, 4, 12), 1 * 12 + 11, 0
    assert dependence(tiny(shape, "diagonal"))[target, source]
    assert not dependence(tiny(shape, "row"))[target, source]


@pytest.mark.parametrize("layer", ["row", "diagonal"])
def test_the_conditionals_make_a_normalized_distribution_that_sampling_follows(layer):
    model = tiny((1, 2, 3), layer).float()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5)
    every = torch.tensor(list(itertools.product([0.0, 1.0], repeat=6)))  # (64, 6)
    with torch.no_grad():
        prob = model.log_prob(every).exp()
    assert abs(prob.sum().item() - 1) < 1e-5
    torch.manual_seed(1)
    drawn = model.sample(4000)
    index = (drawn * 2 ** torch.arange(5, -1, -1)).sum(1).long()  # row of `every`
    freq = torch.bincount(index, minlength=64) / 4000
    assert 0.5 * (freq - prob).abs().sum() < 0.06  # total variation, sampling noise ~0.03


def test_skew_and_unskew_are_inverse():
    x = torch.randn(2, 3, 4, 5)
    s = skew(x)
    assert s.shape == (2, 3, 4, 8) and torch.equal(unskew(s, 5), x)
    assert torch.equal(s[:, :, 2, 2:7], x[:, :, 2])


def test_fitting_lowers_the_nll_and_bad_settings_are_named():
    x = pgm.data.load("shapes", "train", limit=200).x
    torch.manual_seed(0)
    model = pgm.build("pixelrnn", hidden=8, layers=1)
    model.initialize(x)  # what fit does first: biases at the mean pixel
    before = -model.log_prob(x).mean().item()
    # 3 epochs at lr 1e-2: the NLL falls by 183 nats (6 epochs at 3e-3, twice the time: 138)
    pgm.fit(model, x, epochs=3, batch_size=20, lr=1e-2, progress=False)
    assert -model.log_prob(x).mean().item() < before - 50
    with pytest.raises(ValueError, match="layer: expected one of"):
        pgm.build("pixelrnn", layer="column")
    with pytest.raises(ValueError, match="hidden: expected a multiple of the 3 channels, got 8"):
        pgm.build("pixelrnn", shape=(3, 8, 8), hidden=8)
    with pytest.raises(ValueError, match="ordering: PixelRNN's masks follow the raster order"):
        pgm.build("pixelrnn", ordering="snake")
