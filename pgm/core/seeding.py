"""Seeds: one integer fixes every random draw of a computation, in any process.

PyTorch builds may seed their global generator differently in each process, so pgm never
relies on the state a process starts with: every entry point that draws (building a
model, training, evaluating by importance sampling, sampling, posterior draws) takes a
``seed`` and runs under :func:`seeded`.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import pyro
import torch

from pgm.errors import check_seed


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Run the body with torch's, NumPy's and Python's generators seeded with ``seed``
    (``pyro.set_rng_seed``), then put the caller's random states back.

    :param seed: an integer in ``[0, 2**32)``, or ``None`` to run the body on the global
        generators as they stand.
    :raises ValueError: ``seed`` is not ``None`` or an integer in ``[0, 2**32)``.
    """
    if seed is None:
        yield
        return
    check_seed(seed)
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    pyro.set_rng_seed(seed)
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
