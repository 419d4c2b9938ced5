"""The built-in shapes set: deterministic, binary, labelled, every class drawn."""

import numpy as np
import pytest

from pgm.data import shapes


def test_deterministic_binary_and_labelled():
    x, y = shapes.generate("valid")
    x2, y2 = shapes.generate("valid")
    assert np.array_equal(x, x2) and np.array_equal(y, y2)  # same seed, same images
    assert x.shape == (shapes.SIZES["valid"], 28 * 28) and x.dtype == np.uint8
    assert set(np.unique(x)) <= {0, 1} and y.dtype == np.int64
    assert (x.sum(1) > 0).all()  # every image has ink
    counts = np.bincount(y, minlength=len(shapes.CLASSES))
    # labels are uniform over 4 classes: each share within 5 standard errors of 1/4
    n = len(y)
    assert (np.abs(counts / n - 0.25) < 5 * np.sqrt(0.25 * 0.75 / n)).all()


def test_splits_differ_and_the_side_is_honoured():
    a, _ = shapes.generate("train")
    b, _ = shapes.generate("test")
    assert not np.array_equal(a[: len(b)], b)
    small, _ = shapes.generate("test", side=16)
    assert small.shape[1] == 256


def test_filled_rectangles_are_rectangles():
    x, y = shapes.generate("test")
    for img in x[y == 0][:20].reshape(-1, 28, 28):
        rows, cols = np.nonzero(img.any(1))[0], np.nonzero(img.any(0))[0]
        box = img[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        assert box.all()  # every pixel of its bounding box is ink


def test_unknown_split():
    with pytest.raises(ValueError, match="split: expected one of"):
        shapes.generate("training")
