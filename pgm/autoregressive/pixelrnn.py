"""PixelRNN: two-dimensional LSTMs over the pixels (van den Oord, Kalchbrenner & Kavukcuoglu,
"Pixel Recurrent Neural Networks", ICML 2016).

Pixels come in raster order, and within a pixel its channels in order (R, then G, then B)::

    p(x) = prod_i prod_c p(x_{i,c} | x_{<i}, x_{i,<c})

Every conditional is computed at once from the image, as in every autoregressive model of
pgm (:mod:`pgm.core.autoregressive`)::

    x (B, C, H, W) -> 7x7 conv, mask A          -> (B, h, H, W)
                   -> [LSTM layer + residual] x layers
                   -> ReLU, 1x1 conv mask B, ReLU, 1x1 conv mask B -> logits (B, C, H, W)

Masks keep the future out. Mask A (first layer) hides the current pixel, except its
earlier channels; mask B (later layers) shows the current position's features of the same
and earlier channel groups, which already exclude the pixel itself. Feature maps are
split into ``C`` groups, one per colour: group ``c`` may only see colours before ``c`` of
the current pixel.

The LSTM layers (``layer``):

* ``"row"``, **Row LSTM**: rows are processed top to bottom. The gates of row ``r`` are a
  masked ``1 x k`` convolution of the input row (input-to-state, computed for all rows at
  once) plus a ``k``-wide 1-D convolution of the hidden state of row ``r - 1``
  (state-to-state). Its context is a triangle above the pixel.
* ``"diagonal"``, **Diagonal BiLSTM**: the map is skewed, row ``r`` shifted right by ``r``,
  so that each diagonal becomes a column, and columns are processed left to right with a
  ``2 x 1`` state-to-state convolution: pixel ``(r, j)`` reads the states of ``(r, j - 1)``
  and ``(r - 1, j)``. A second LSTM does the same right to left. Its output is moved down
  one row before the two are added, so it sees only rows above. Together they see the
  whole past.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pgm.autoregressive.base import Autoregressive
from pgm.core import register
from pgm.errors import check_positive_int

LAYERS = ("row", "diagonal")


def channel_groups(n: int, colours: int, gates: int = 1) -> torch.Tensor:
    """The colour group of each of ``n`` feature channels ``(n,)``: ``gates`` consecutive
    blocks of ``n / gates`` channels, each split evenly into ``colours`` groups."""
    block = n // gates
    return (torch.arange(n) % block) * colours // block


class MaskedConv2d(nn.Conv2d):
    """A same-padded convolution that sees no pixel after the centre, in raster order.

    At the centre, output group ``g`` sees input groups ``< g`` (``mask="A"``) or ``<= g``
    (``"B"``); groups come from :func:`channel_groups`. ``(B, in, H, W) -> (B, out, H, W)``.
    """

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int], mask: str,
                 colours: int, gates: int = 1):
        kh, kw = kernel
        super().__init__(cin, cout, kernel, padding=(kh // 2, kw // 2))
        m = torch.ones_like(self.weight)  # (out, in, kh, kw)
        m[:, :, kh // 2, kw // 2 + 1 :] = 0  # right of the centre
        m[:, :, kh // 2 + 1 :] = 0  # rows below
        g_out = channel_groups(cout, colours, gates)[:, None]
        g_in = channel_groups(cin, colours)[None]  # the image itself: one channel a group
        m[:, :, kh // 2, kw // 2] = (g_in < g_out) if mask == "A" else (g_in <= g_out)
        self.register_buffer("mask", m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


def _lstm_step(gates: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM update from pre-activations ``(B, 4h, ...)`` and cell ``(B, h, ...)``."""
    o, f, i, g = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


class RowLSTM(nn.Module):
    """Row LSTM layer: ``(B, h, H, W) -> (B, h, H, W)``, rows top to bottom."""

    def __init__(self, h: int, colours: int, k: int = 3):
        super().__init__()
        self.input_to_state = MaskedConv2d(h, 4 * h, (1, k), "B", colours, gates=4)
        self.state_to_state = nn.Conv1d(h, 4 * h, k, padding=k // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, rows, w = x.shape
        gates = self.input_to_state(x)  # (B, 4h, H, W)
        state, cell, out = x.new_zeros(b, h, w), x.new_zeros(b, h, w), []
        for r in range(rows):
            state, cell = _lstm_step(gates[:, :, r] + self.state_to_state(state), cell)
            out.append(state)  # (B, h, W)
        return torch.stack(out, 2)


def skew(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W) -> (B, C, H, H + W - 1)``: row ``r`` shifted right by ``r``."""
    b, c, rows, w = x.shape
    out = x.new_zeros(b, c, rows, rows + w - 1)
    for r in range(rows):
        out[:, :, r, r : r + w] = x[:, :, r]
    return out


def unskew(x: torch.Tensor, w: int) -> torch.Tensor:
    """The inverse of :func:`skew`: ``(B, C, H, H + W - 1) -> (B, C, H, W)``."""
    return torch.stack([x[:, :, r, r : r + w] for r in range(x.shape[2])], 2)


class DiagonalLSTM(nn.Module):
    """One direction of the Diagonal BiLSTM: ``(B, h, H, W) -> (B, h, H, W)``; pixel
    ``(r, j)`` reads the states of ``(r, j - 1)`` and ``(r - 1, j)``."""

    def __init__(self, h: int, colours: int):
        super().__init__()
        self.input_to_state = MaskedConv2d(h, 4 * h, (1, 1), "B", colours, gates=4)
        self.state_to_state = nn.Conv1d(h, 4 * h, 2)  # over (row above, this row)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, rows, w = x.shape
        gates = skew(self.input_to_state(x))  # (B, 4h, H, H + W - 1)
        state, cell, out = x.new_zeros(b, h, rows), x.new_zeros(b, h, rows), []
        for t in range(gates.shape[-1]):  # one diagonal at a time
            s2s = self.state_to_state(F.pad(state, (1, 0)))  # (B, 4h, H)
            state, cell = _lstm_step(gates[..., t] + s2s, cell)
            out.append(state)
        return unskew(torch.stack(out, -1), w)


class DiagonalBiLSTM(nn.Module):
    """Diagonal BiLSTM layer: ``(B, h, H, W) -> (B, h, H, W)``, the left-to-right LSTM plus
    the right-to-left one moved down a row."""

    def __init__(self, h: int, colours: int):
        super().__init__()
        self.forward_lstm, self.backward_lstm = DiagonalLSTM(h, colours), DiagonalLSTM(h, colours)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        back = self.backward_lstm(x.flip(-1)).flip(-1)  # (B, h, H, W)
        return self.forward_lstm(x) + F.pad(back, (0, 0, 1, 0))[:, :, :-1]


@register("pixelrnn")
class PixelRNN(Autoregressive):
    """PixelRNN over binary pixels with Row LSTM or Diagonal BiLSTM layers.

    :param shape: ``(channels, height, width)``; channels are generated in order.
    :param hidden: feature channels ``h`` (a multiple of the number of colours).
    :param layers: LSTM layers, each with a residual connection.
    :param layer: ``"row"`` (Row LSTM) or ``"diagonal"`` (Diagonal BiLSTM).
    :param ordering: ``"raster"``, the only ordering the masked convolutions allow.
    """

    defaults = {"lr": 1e-3, "batch_size": 32, "epochs": 20, "patience": 3}

    def __init__(self, shape=(1, 28, 28), hidden: int = 32, layers: int = 2,
                 layer: str = "row", ordering: str = "raster", seed: int = 0):
        if ordering != "raster":
            raise ValueError(f"ordering: PixelRNN's masks follow the raster order; expected "
                             f"'raster', got {ordering!r}")
        if layer not in LAYERS:
            raise ValueError(f"layer: expected one of {list(LAYERS)}, got {layer!r}")
        if len(shape) != 3:
            raise ValueError(f"shape: expected (channels, height, width), got {shape!r}")
        colours = shape[0]
        hidden, layers = check_positive_int(hidden, "hidden"), check_positive_int(layers, "layers")
        if hidden % colours:
            raise ValueError(f"hidden: expected a multiple of the {colours} channels, got {hidden}")
        super().__init__(shape, ordering, seed, hidden=hidden, layers=layers, layer=layer)
        # the ordering: pixels in raster order, each pixel's channels in order (R, G, B)
        pixels = self.dim // colours
        perm = (torch.arange(colours)[None] * pixels + torch.arange(pixels)[:, None]).reshape(-1)
        self.order.copy_(perm)
        self.inverse.copy_(torch.argsort(perm))
        self.input = MaskedConv2d(colours, hidden, (7, 7), "A", colours)
        cls = RowLSTM if layer == "row" else DiagonalBiLSTM
        self.lstms = nn.ModuleList([cls(hidden, colours) for _ in range(layers)])
        self.head = nn.Sequential(nn.ReLU(), MaskedConv2d(hidden, hidden, (1, 1), "B", colours),
                                  nn.ReLU(), MaskedConv2d(hidden, colours, (1, 1), "B", colours))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Conditional logits ``(B, D) -> (B, D)`` (flattened ``(C, H, W)``)."""
        h = self.input(x.reshape(-1, *self.shape))  # (B, h, H, W)
        for lstm in self.lstms:
            h = h + lstm(h)
        return self.head(h).flatten(1)

    def initialize(self, x: torch.Tensor) -> None:
        """Output biases at the logits of each channel's mean pixel."""
        with torch.no_grad():
            mean = x.reshape(-1, self.shape[0], self.dim // self.shape[0]).mean((0, 2))
            self.head[-1].bias.copy_(torch.logit(mean.clamp(1e-3, 1 - 1e-3)))

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """``n`` images ``(n, D)``, one pixel channel at a time (``D`` passes of the network)."""
        x = torch.zeros(check_positive_int(n, "n"), self.dim,
                        device=self.input.weight.device)
        for i in self.order.tolist():
            x[:, i] = torch.bernoulli(torch.sigmoid(self.logits(x)[:, i]))
        return x
