"""Tracing a user's program, and saying where it failed when it does.

:func:`trace` runs ``poutine.trace`` on a user's model or guide; a failure becomes a
:class:`~pgm.errors.ModelError` naming the user's own site: the site being processed,
or, for a distribution that fails while its arguments are built (``dist.Normal(0, -1)``)
before Pyro sees the site, the ``pyro.sample(NAME, ...)`` statement that encloses the
failing position in the user's file (read from the traceback and the file's syntax tree).
"""

from __future__ import annotations

import ast
import linecache
import re
import sysconfig
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from pyro import poutine
from pyro.poutine.messenger import Messenger
from pyro.poutine.subsample_messenger import _Subsample

from pgm.errors import ModelError

_LIBRARY_DIRS = tuple(sorted({str(Path(p).resolve()) for key in ("stdlib", "purelib", "platlib")
                              if (p := sysconfig.get_paths().get(key))}
                             | {str(Path(__file__).resolve().parents[1])}))
_SITE_CALLS = {"sample", "factor", "deterministic"}


def _is_library(filename: str) -> bool:
    if filename.startswith("<"):
        return True
    path = str(Path(filename).resolve())
    return any(path == d or path.startswith(d + "/") for d in _LIBRARY_DIRS)


def _statement_site(error: BaseException) -> tuple[str, str] | None:
    """The user's ``pyro.sample(NAME, ...)`` statement that was running when ``error`` rose.

    A distribution that fails while it is being built (``dist.Normal(0, -1)``, a Cholesky
    factor of a singular matrix) fails before Pyro sees its site. The frames of the
    traceback outside Python's, the installed packages' and pgm's own files are searched,
    innermost first, for a ``sample``/``factor``/``deterministic`` call that encloses the
    failing position, in the file's syntax tree.

    :returns: ``(the site's name as written, "FILE:LINE")``, or ``None`` when the error
        did not rise inside such a call.
    """
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not _is_library(f.filename)]
    for frame in reversed(frames):
        if frame.lineno is None:
            continue
        source = "".join(linecache.getlines(frame.filename))
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        pos = (frame.lineno, frame.colno if frame.colno is not None else 0)
        best = None
        for node in ast.walk(tree):
            func = getattr(node, "func", None)
            called = getattr(func, "attr", None) or getattr(func, "id", None)
            if not (isinstance(node, ast.Call) and called in _SITE_CALLS and node.args):
                continue
            start = (node.lineno, node.col_offset)
            end = (node.end_lineno or node.lineno, node.end_col_offset or 0)
            if start <= pos < end and (best is None or start > (best.lineno, best.col_offset)):
                best = node
        if best is not None:
            arg = best.args[0]
            name = (repr(arg.value) if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                    else ast.get_source_segment(source, arg) or "?")
            return name, f"{Path(frame.filename).name}:{frame.lineno}"
    return None


class _Where(Messenger):
    """Remembers where a traced program is, to say where it failed.

    Plates' subsample sites and parameter statements are messages too; ``last`` is the
    last *sample site the user declared* that completed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None
        self.last: str | None = None

    @staticmethod
    def _describe(msg) -> str | None:
        if msg["type"] == "sample":
            return f"{'plate' if isinstance(msg['fn'], _Subsample) else 'site'} {msg['name']!r}"
        if msg["type"] == "param":
            return f"param {msg['name']!r}"
        return None

    def _process_message(self, msg) -> None:
        self.current = self._describe(msg) or self.current

    def _postprocess_message(self, msg) -> None:
        if self._describe(msg) is None:
            return
        self.current = None
        if (msg["type"] == "sample" and not isinstance(msg["fn"], _Subsample)
                and not msg["infer"].get("_pgm_internal")):
            self.last = msg["name"]

    def where(self, error: BaseException | None = None) -> str:
        """``"at site 'x'"``, ``"at site 'x' (building its arguments, FILE:LINE)"``,
        ``"after site 'x'"`` or ``"before its first sample site"``."""
        if self.current is not None:
            return f"at {self.current}"
        found = _statement_site(error) if error is not None else None
        if found is not None:
            return f"at site {found[0]} (building its arguments, {found[1]})"
        return f"after site {self.last!r}" if self.last else "before its first sample site"


def _precision_hint(error: BaseException) -> str:
    """Advice for a linear-algebra failure in float32, where a small jitter is lost."""
    if torch.get_default_dtype() != torch.float32:
        return ""
    if not re.search(r"positive.?definite|cholesky|singular|not invertible", str(error), re.I):
        return ""
    return (" (the model runs in float32, whose resolution, 1.2e-7 relative, loses a smaller "
            "jitter: if that is the cause, build it with dtype=torch.float64)")


def trace(fn: Callable, kwargs: Mapping[str, Any], what: str,
          score: bool = False) -> poutine.Trace:
    """``poutine.trace(fn)`` on ``kwargs``; a failure names ``what`` and the site.

    :param score: also compute every site's log-density, so that values a distribution
        cannot score (integers observed by a Bernoulli, a value outside the support) fail
        here rather than in the first training step.
    :raises ModelError: ``fn`` raised; the message names the sample site the user's code
        was at (:class:`_Where`) and the original exception is chained.
    """
    where = _Where()
    try:
        with where:
            tr = poutine.trace(fn).get_trace(**kwargs)
    except Exception as e:
        raise ModelError(f"{what} raised {type(e).__name__} {where.where(e)}"
                         f"{_precision_hint(e)}: {e}") from e
    if score:
        try:
            tr.compute_log_prob()
        except Exception as e:  # Pyro's message names the site and its shapes
            raise ModelError(f"{what}: {type(e).__name__}{_precision_hint(e)}: {e}") from e
    return tr
