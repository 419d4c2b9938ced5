"""Exceptions raised by pgm, and the checks that raise them.

Every error names the argument that was wrong, what was expected and what was
received, so that a user can fix the call without reading pgm's source.
"""

from __future__ import annotations

import torch


class PGMError(Exception):
    """Base class of every error pgm raises on purpose."""


class DataError(PGMError, ValueError):
    """Data of the wrong shape, type or values."""


class MissingDataError(PGMError, FileNotFoundError):
    """A data file that pgm looked for and could not find."""


class ModelError(PGMError):
    """A user's model or guide that fails when traced, or that does not fit its data."""


class InferenceDataError(PGMError):
    """Turning finished draws into ``InferenceData`` failed; the draws are kept here.

    :ivar draws: ``{site: array (chains, draws, ...)}``: every site the guide or the
        sampler drew (``NAME_unconstrained`` for a site whose support moves).
    :ivar sample_stats: ``{name: array (chains, draws)}`` (NUTS: ``diverging``), or ``{}``.
    """

    def __init__(self, message: str, draws: dict, sample_stats: dict | None = None) -> None:
        super().__init__(message)
        self.draws, self.sample_stats = draws, sample_stats or {}


class CheckpointError(PGMError, ValueError):
    """A checkpoint that is missing, truncated, corrupt or of another model."""


class UnknownNameError(PGMError, KeyError):
    """An unknown model or data set name."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


def check_images(
    x: object, *, dim: int | None = None, binary: bool = False, name: str = "x",
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Validate a batch of flattened images and return it, in ``dtype``.

    :param x: expected a floating tensor of shape ``(batch, dim)``.
    :param dtype: the floating dtype the model computes in (its parameters'); ``x`` of
        another floating dtype (float64, float16, bfloat16) is converted to it. ``None``:
        as it is.
    :param dim: the number of pixels the model expects, or ``None`` for any.
    :param binary: require every value to be 0 or 1.
    :param name: the argument's name, used in the error message.
    :raises DataError: naming what was expected and what was received.
    """
    if not isinstance(x, torch.Tensor):
        raise DataError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if not torch.is_floating_point(x):
        raise DataError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")
    if x.dim() != 2:
        raise DataError(f"{name}: expected shape (batch, pixels), got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise DataError(f"{name}: expected at least one example, got an empty batch")
    if dim is not None and x.shape[1] != dim:
        raise DataError(f"{name}: expected {dim} pixels per example, got {x.shape[1]}")
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise DataError(f"{name}: expected finite values, got {bad} NaN or inf entries")
    if dtype is not None and x.dtype != dtype:
        x = x.to(dtype)
        if not bool(torch.isfinite(x).all()):
            raise DataError(f"{name}: values too large for {dtype}")
    if binary and not bool(((x == 0) | (x == 1)).all()):
        bad = x[(x != 0) & (x != 1)]
        raise DataError(
            f"{name}: expected binary values in {{0, 1}}, got {bad.numel()} other values "
            f"(first: {bad[0].item():g}); binarize grey images first "
            "(pgm.data.binarize)"
        )
    return x


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` if it is an int >= 1, else raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return value


def check_nonnegative_int(value: object, name: str) -> int:
    """Return ``value`` if it is an int >= 0, else raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
    return value


def check_nonnegative(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise ``ValueError``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (ok and 0 <= value < float("inf")):
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return float(value)


def check_positive(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise ``ValueError``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (ok and 0 < value < float("inf")):
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return float(value)


#: seeds are passed to torch, Python's and NumPy's generators; NumPy's takes < 2**32
SEED_RANGE = 2**32


def check_seed(value: object, name: str = "seed") -> int:
    """Return ``value`` if it is an integer in ``[0, 2**32)``, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < SEED_RANGE:
        raise ValueError(f"{name}: expected an integer in [0, 2**32), got {value!r}")
    return value


class PGMWarning(UserWarning):
    """Base class of the warnings pgm gives: results that may not be what they seem."""


def check_sizes(values: object, name: str) -> list[int]:
    """Return ``values`` as a list if it is a non-empty list or tuple of positive integers
    (layer sizes), else raise ``ValueError`` naming ``name``."""
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name}: expected a non-empty list of layer sizes such as [200, 200], "
                         f"got {values!r}")
    return [check_positive_int(v, name) for v in values]
