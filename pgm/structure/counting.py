"""Free-parameter counts: how independence assumptions shrink a distribution.

A distribution over ``m`` values needs ``m - 1`` numbers (they sum to one). Over
``n`` binary variables:

==========================  ===========================  ==================
structure                   factorization                free parameters
==========================  ===========================  ==================
fully dependent             one table over 2^n states     2^n - 1
chain rule (no assumption)  prod_i p(x_i | x_<i)          1 + 2 + ... + 2^(n-1) = 2^n - 1
fully independent           prod_i p(x_i)                 n
Markov (order 1)            prod_i p(x_i | x_{i-1})       1 + 2 (n - 1) = 2n - 1
order-k autoregressive      prod_i p(x_i | x_{i-k..i-1})  sum_i 2^min(i, k)
==========================  ===========================  ==================
"""

from __future__ import annotations

from pgm.errors import check_positive_int


def bernoulli() -> int:
    """One binary variable: 1 parameter."""
    return 1


def categorical(m: int) -> int:
    """One variable with ``m`` values: ``m - 1`` parameters."""
    return check_positive_int(m, "m") - 1


def rgb_pixel(levels: int = 256, independent_channels: bool = False) -> int:
    """One RGB pixel: the joint over ``levels**3`` colours, or three independent channels.

    ``rgb_pixel() == 16_777_215``; ``rgb_pixel(independent_channels=True) == 765``.
    """
    levels = check_positive_int(levels, "levels")
    return 3 * (levels - 1) if independent_channels else levels**3 - 1


def fully_dependent(n: int) -> int:
    return 2 ** check_positive_int(n, "n") - 1


def fully_independent(n: int) -> int:
    return check_positive_int(n, "n")


def chain_rule(n: int) -> int:
    return sum(2**i for i in range(check_positive_int(n, "n")))


def markov(n: int) -> int:
    return 2 * check_positive_int(n, "n") - 1


def autoregressive(n: int, k: int) -> int:
    """Order-``k`` autoregressive model with full tables: ``sum_i 2^min(i, k)``."""
    n = check_positive_int(n, "n")
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n:
        raise ValueError(f"k: expected an integer in 0..{n - 1}, got {k!r}")
    return sum(2 ** min(i, k) for i in range(n))


def logistic_autoregressive(n: int, k: int) -> int:
    """Order-``k`` with logistic conditionals: a bias and ``min(i, k)`` weights each."""
    n = check_positive_int(n, "n")
    return sum(1 + min(i, k) for i in range(n))
