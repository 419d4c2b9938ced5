"""Fused CPU kernels for NADE's exact log-likelihood and its gradient (numba).

NADE's hidden pre-activation ``a_i = c + sum_{j<i} x_j W_j`` changes only after a
pixel that is on: for binary images the hidden state is constant over each run
of zeros. The kernels below walk each image once, keep one hidden vector,
recompute the activation only when a pixel is on, and accumulate the gradient
in a single reverse sweep, so nothing of size ``(batch, D, H)`` ever exists.

Cost per image: ``D * H`` multiply-adds forward (the output dot products) and
``2 * D * H`` backward, plus ``(ones + 1) * H`` activations. Images are split
across threads, each with its own gradient accumulators.

Shapes: ``x (B, D)`` in the model's ordering, ``W, V (D, H)``, ``c (H,)``,
``b (D,)``; ``act`` is 0 for the sigmoid, 1 for the rectifier.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(inline="always", fastmath=True)
def _activate(a, h, act):
    if act == 0:
        for j in range(a.shape[0]):
            h[j] = 1.0 / (1.0 + np.exp(-a[j]))
    else:
        for j in range(a.shape[0]):
            h[j] = a[j] if a[j] > 0 else 0.0


@nb.njit(parallel=True, fastmath=True, cache=True)
def forward(x, W, c, V, b, act):  # -> logits (B, D)
    B, D = x.shape
    H = c.shape[0]
    out = np.empty((B, D), dtype=W.dtype)
    for n in nb.prange(B):
        a = c.copy()
        h = np.empty(H, dtype=W.dtype)
        _activate(a, h, act)
        for i in range(D):
            s = b[i]
            for j in range(H):
                s += V[i, j] * h[j]
            out[n, i] = s
            if x[n, i] != 0:
                for j in range(H):
                    a[j] += W[i, j]
                _activate(a, h, act)
    return out


@nb.njit(parallel=True, fastmath=True, cache=True)
def backward(x, W, c, V, g, act, threads):  # -> dW, dc, dV
    B, D = x.shape
    H = c.shape[0]
    dW = np.zeros((threads, D, H), dtype=W.dtype)
    dV = np.zeros((threads, D, H), dtype=W.dtype)
    dc = np.zeros((threads, H), dtype=W.dtype)
    chunk = (B + threads - 1) // threads
    for t in nb.prange(threads):
        hs = np.empty((D + 1, H), dtype=W.dtype)  # hidden state of each segment
        a = np.empty(H, dtype=W.dtype)
        dh = np.empty(H, dtype=W.dtype)
        carry = np.empty(H, dtype=W.dtype)
        for n in range(t * chunk, min(B, (t + 1) * chunk)):
            a[:] = c
            _activate(a, hs[0], act)
            ones = 0
            for i in range(D):
                if x[n, i] != 0:
                    for j in range(H):
                        a[j] += W[i, j]
                    ones += 1
                    _activate(a, hs[ones], act)
            dh[:] = 0.0
            carry[:] = 0.0
            cur = ones
            for i in range(D - 1, -1, -1):
                if x[n, i] != 0:  # leaving segment `cur`, which the one at i opened
                    h = hs[cur]
                    for j in range(H):
                        d = h[j] * (1.0 - h[j]) if act == 0 else (1.0 if h[j] > 0 else 0.0)
                        carry[j] += dh[j] * d
                        dW[t, i, j] += carry[j]
                        dh[j] = 0.0
                    cur -= 1
                gi = g[n, i]
                h = hs[cur]
                for j in range(H):
                    dV[t, i, j] += gi * h[j]
                    dh[j] += gi * V[i, j]
            h = hs[0]
            for j in range(H):
                d = h[j] * (1.0 - h[j]) if act == 0 else (1.0 if h[j] > 0 else 0.0)
                dc[t, j] += carry[j] + dh[j] * d
    return dW.sum(0), dc.sum(0), dV.sum(0)
