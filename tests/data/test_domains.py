"""Domains for translation models (pgm.data.domains), checked against plain computations."""

import pytest
import torch

from pgm.data import domains

SHAPE = (1, 4, 4)


def _images(n: int = 10, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 16, generator=torch.Generator().manual_seed(seed))


def test_bold_is_the_maximum_over_each_3x3_neighbourhood():
    x = _images(3)
    out = domains.bold(x, SHAPE).reshape(3, 4, 4)
    img = x.reshape(3, 4, 4)
    for i in range(4):
        for j in range(4):
            patch = img[:, max(i - 1, 0):i + 2, max(j - 1, 0):j + 2]
            assert torch.equal(out[:, i, j], patch.amax(dim=(1, 2)))


def test_inverted_and_plain():
    x = _images()
    assert torch.equal(domains.inverted(x, SHAPE), 1 - x)
    assert domains.plain(x, SHAPE) is x


def test_unpaired_halves_share_no_image_and_b_is_t_of_the_rest():
    x = _images(11)  # odd: one image is left out
    a, b = domains.unpaired(x, SHAPE, "inverted", seed=3)
    assert a.shape == b.shape == (5, 16)
    rows = {tuple(r.tolist()) for r in x}
    assert all(tuple(r.tolist()) in rows for r in a)
    originals = 1 - b  # the images b was made from
    assert all(tuple(r.tolist()) in rows for r in originals)
    assert not ({tuple(r.tolist()) for r in a} & {tuple(r.tolist()) for r in originals})
    again = domains.unpaired(x, SHAPE, "inverted", seed=3)
    assert torch.equal(again[0], a) and torch.equal(again[1], b)  # seeded


def test_labelled_parts_are_disjoint_and_each_transformed_by_its_name():
    x = _images(9)
    images, labels = domains.labelled(x, SHAPE, ["plain", "inverted", "bold"], seed=1)
    assert images.shape == (9, 16) and labels.tolist() == [0] * 3 + [1] * 3 + [2] * 3
    rows = {tuple(r.tolist()) for r in x}
    plain, inv = images[labels == 0], images[labels == 1]
    assert all(tuple(r.tolist()) in rows for r in plain)
    assert all(tuple((1 - r).tolist()) in rows for r in inv)
    assert not ({tuple(r.tolist()) for r in plain} & {tuple((1 - r).tolist()) for r in inv})


@pytest.mark.parametrize("call,match", [
    (lambda: domains.unpaired(_images(1), SHAPE, "plain"),
     r"x: expected images \(n, D\) with n >= 2"),
    (lambda: domains.unpaired(_images(), SHAPE, "sepia"), "domains: expected one of"),
    (lambda: domains.labelled(_images(2), SHAPE, ["plain", "bold", "inverted"]),
     "one per domain"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
