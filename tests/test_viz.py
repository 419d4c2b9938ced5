"""Image grids: where each image lands, and the PNG written."""

import numpy as np
import torch
from PIL import Image

from pgm.viz import grid, save_grid


def test_grid_places_images_row_by_row_with_padding():
    imgs = torch.stack([torch.full((6,), v) for v in (0.0, 1.0, 0.5)])  # 3 images of 2x3
    g = grid(imgs, (1, 2, 3), nrow=2, pad=1)  # 2 rows of 2 columns
    assert g.shape == (2 * 3 + 1, 2 * 4 + 1) and g.dtype == np.uint8
    assert (g[1:3, 1:4] == 0).all() and (g[1:3, 5:8] == 255).all()  # row 0
    assert (g[4:6, 1:4] == 128).all()  # row 1, column 0: 0.5 -> 128 (rounded)
    assert (g[0] == 128).all() and (g[4:6, 5:8] == 128).all()  # padding and the empty cell


def test_colour_grids_are_height_width_channels():
    img = torch.zeros(1, 3 * 2 * 2)
    img[0, :4] = 1.0  # red channel
    g = grid(img, (3, 2, 2), pad=0)
    assert g.shape == (2, 2, 3) and (g[..., 0] == 255).all() and (g[..., 1:] == 0).all()


def test_save_grid_writes_a_scaled_png(tmp_path):
    path = save_grid(torch.rand(4, 16), (1, 4, 4), tmp_path / "g.png", scale=3)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (3 * (2 * 5 + 1), 3 * (2 * 5 + 1))
