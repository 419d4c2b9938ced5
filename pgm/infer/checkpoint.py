"""Checkpoints: written atomically, read back with clear errors.

A checkpoint is a ``torch.save`` dictionary holding the model's name and
config (enough to rebuild it with :func:`pgm.core.build`), its
``state_dict``, and the trainer's state (optimizer, schedule, position in the
epoch, random-number state, history), so that training resumes exactly.
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


def save(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path`` atomically (:func:`pgm.io.atomic_write`)."""
    with atomic_write(path) as f:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, f)
    return Path(path)


def resolve(path: str | Path, which: str = BEST) -> Path:
    """A checkpoint file: ``path`` itself, or ``path/which`` (falling back to last.pt)."""
    path = Path(path)
    if path.is_dir():
        tried = list(dict.fromkeys((which, LAST)))
        for name in tried:
            if (path / name).is_file():
                return path / name
        raise CheckpointError(f"checkpoint: no {' or '.join(tried)} in directory {path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint: {path} does not exist")
    return path


def load(path: str | Path, which: str = BEST) -> dict[str, Any]:
    """Read a checkpoint (a file, or a training directory) and check its format."""
    file = resolve(path, which)
    try:
        ckpt = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, pickle errors, ...
        raise CheckpointError(
            f"checkpoint: cannot read {file} ({type(e).__name__}: {e}); "
            "the file is truncated or corrupt"
        ) from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint: {file} is not a pgm checkpoint")
    if ckpt.get("version") != VERSION:
        raise CheckpointError(
            f"checkpoint: {file} has format version {ckpt.get('version')}, expected {VERSION}")
    ckpt["path"] = str(file)
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


def load_model(path: str | Path, which: str = BEST) -> tuple[GenerativeModel, dict[str, Any]]:
    """Rebuild the model a checkpoint was written from; returns ``(model, checkpoint)``."""
    ckpt = load(path, which)
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
    return model, ckpt
