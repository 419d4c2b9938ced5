"""Autoregressive explicit models: exact likelihood as a product of conditionals."""

from pgm.autoregressive.fvsbn import FVSBN
from pgm.autoregressive.nade import NADE
from pgm.autoregressive.pixelrnn import PixelRNN
from pgm.autoregressive.rnade import RNADE

__all__ = ["FVSBN", "NADE", "PixelRNN", "RNADE"]
