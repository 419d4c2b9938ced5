"""Checkpoints: written atomically, read back with clear errors.

A checkpoint is a ``torch.save`` dictionary holding the model's name and
config (enough to rebuild it with :func:`pgm.core.build`), its
``state_dict``, and the trainer's state (optimizer, schedule, position in the
epoch, random-number state, history), so that training resumes exactly.

A checkpoint never holds non-finite values: :func:`save` refuses them
(:class:`NonFiniteError`) and the file already there, the last good one, stays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pgm.core import GenerativeModel, build
from pgm.errors import CheckpointError
from pgm.io import atomic_write

FORMAT = "pgm-checkpoint"
VERSION = 1
LAST, BEST = "last.pt", "best.pt"
#: what every checkpoint holds (:func:`load` checks)
REQUIRED = ("model", "config", "state_dict")
#: what a checkpoint to resume training from holds besides (:func:`check_resumable`)
RESUMABLE = ("optimizer", "scheduler", "train_config", "state", "rng")


class NonFiniteError(CheckpointError, FloatingPointError):
    """A checkpoint was not written because it would hold NaN or infinite values.

    :ivar tensors: the dotted names of the tensors at fault.
    """

    def __init__(self, message: str, tensors: list[str]) -> None:
        super().__init__(message)
        self.tensors = tensors


def non_finite(payload: Any, prefix: str = "") -> list[str]:
    """Names (dotted paths) of the floating-point tensors in ``payload`` (nested dicts,
    lists and tuples) that hold a NaN or an infinity."""
    if isinstance(payload, torch.Tensor):
        ok = not payload.is_floating_point() or bool(torch.isfinite(payload).all())
        return [] if ok else [prefix or "value"]
    if isinstance(payload, dict):
        items = payload.items()
    elif isinstance(payload, (list, tuple)):
        items = enumerate(payload)
    else:
        return []
    return [bad for k, v in items for bad in non_finite(v, f"{prefix}.{k}" if prefix else str(k))]


def save(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path`` atomically (:func:`pgm.io.atomic_write`).

    :raises NonFiniteError: a tensor of ``payload`` holds NaN or infinite values; nothing
        is written, so the file already at ``path`` (the last good checkpoint) stays.
    """
    bad = non_finite(payload)
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        kept = "the file there is kept" if Path(path).is_file() else "nothing is written"
        raise NonFiniteError(f"checkpoint: not writing {path}: non-finite values in "
                             f"{', '.join(bad[:3])}{more}; {kept}", bad)
    with atomic_write(path) as f:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, f)
    return Path(path)


def resolve(path: str | Path, which: str = BEST, fallback: bool = True) -> Path:
    """A checkpoint file: ``path`` itself, or ``path/which`` (falling back to last.pt when
    ``fallback``: a run stopped before its first epoch ended has no best.pt yet).

    :raises TypeError: ``path`` is not a path.
    :raises CheckpointError: no such file, or no such checkpoint in the folder.
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path: expected a run folder or checkpoint file, got "
                        f"{type(path).__name__} {path!r:.60}")
    path = Path(path)
    if path.is_dir():
        tried = list(dict.fromkeys((which, LAST) if fallback else (which,)))
        for name in tried:
            if (path / name).is_file():
                return path / name
        raise CheckpointError(f"checkpoint: no {' or '.join(tried)} in directory {path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint: {path} does not exist")
    return path


def load(path: str | Path, which: str = BEST, fallback: bool = True) -> dict[str, Any]:
    """Read a checkpoint (a file, or a training directory: :func:`resolve`) and check its
    format."""
    file = resolve(path, which, fallback)
    try:
        ckpt = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, pickle errors, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CheckpointError(
            f"checkpoint: cannot read {file} ({type(e).__name__}: {first:.200}); "
            "the file is truncated or corrupt, or not a pgm checkpoint"
        ) from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint: {file} is not a pgm checkpoint")
    if ckpt.get("version") != VERSION:
        raise CheckpointError(
            f"checkpoint: {file} has format version {ckpt.get('version')}, expected {VERSION}")
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"checkpoint: {file} lacks {missing}; it is damaged or was not "
                              "written by pgm's trainer")
    ckpt["path"] = str(file)
    return ckpt


def check_resumable(ckpt: dict[str, Any]) -> dict[str, Any]:
    """``ckpt`` if it holds a trainer's state to resume from, else a :class:`CheckpointError`."""
    missing = [k for k in RESUMABLE if k not in ckpt]
    if missing:
        raise CheckpointError(f"checkpoint: {ckpt['path']} lacks {missing}, so training cannot "
                              "resume from it; it is damaged or holds weights only")
    return ckpt


def restore(model: GenerativeModel, ckpt: dict[str, Any]) -> GenerativeModel:
    """Load ``ckpt``'s weights into ``model``, checking it is the same model and config."""
    if ckpt["model"] != model.name:
        raise CheckpointError(
            f"checkpoint: {ckpt['path']} holds model {ckpt['model']!r}, expected {model.name!r}")
    if ckpt["config"] != model.config:
        raise CheckpointError(
            f"checkpoint: {ckpt['path']} has config {ckpt['config']}, "
            f"the model has {model.config}")
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint: {ckpt['path']}: {e}") from e
    return model


def load_model(path: str | Path, which: str = BEST, fallback: bool = True
               ) -> tuple[GenerativeModel, dict[str, Any]]:
    """Rebuild the model a checkpoint was written from; returns ``(model, checkpoint)``.

    :param path: a run folder (``which``, by default ``best.pt``, falling back to
        ``last.pt`` unless ``fallback=False``) or a checkpoint file.
    :raises CheckpointError: no checkpoint there, a damaged one, or one of a user's program.
    """
    ckpt = load(path, which, fallback)
    return rebuild(ckpt), ckpt


def rebuild(ckpt: dict[str, Any]) -> GenerativeModel:
    """The model of an already loaded checkpoint, its weights restored, in eval mode.

    :raises CheckpointError: a model class that is not registered, or a user's program.
    """
    if not ckpt["model"]:
        raise CheckpointError(
            f"checkpoint: {ckpt['path']} was written by a model class that is not registered; "
            "register it with @pgm.register('name'), or rebuild it yourself and call "
            "pgm.infer.checkpoint.restore(model, checkpoint.load(path))")
    if ckpt["model"] == "program":
        raise CheckpointError(
            f"checkpoint: {ckpt['path']} holds a user's model (`pgm fit`); rebuild it with "
            "pgm.core.program.from_spec (or `pgm inspect`) and checkpoint.restore")
    model = build(ckpt["model"], **ckpt["config"])
    restore(model, ckpt)
    model.eval()
    return model


def load_run(path: str | Path, which: str = BEST, fallback: bool = True) -> GenerativeModel:
    """The fitted model of a run, ready to use: ``pgm.load``.

    A run of a built-in model (``pgm train``, :func:`pgm.fit` with ``out``) is rebuilt from
    its checkpoint; a run of a user's program (``pgm fit``) from its ``program.json`` (the
    model file, guide and data it names, :func:`pgm.core.program.from_spec`), then its
    fitted parameters are restored. The model is in evaluation mode.

    :param path: a run folder (``which``, by default ``best.pt``, falling back to
        ``last.pt`` unless ``fallback=False``) or a checkpoint file in one.
    :raises CheckpointError: no run there, a damaged checkpoint or ``program.json``, or a
        model class that is not registered.
    """
    from pgm.core.program import PROGRAM_JSON, from_spec, read_spec

    ckpt = load(path, which, fallback)
    run = Path(ckpt["path"]).parent
    if ckpt["model"] != "program" or not (run / PROGRAM_JSON).is_file():
        return rebuild(ckpt)  # which explains how to rebuild a program of pgm.fit
    program = from_spec(read_spec(run))
    restore(program, ckpt)
    program.eval()
    return program
