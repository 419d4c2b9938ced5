"""Machine-readable benchmark results: ``benchmarks/results/*.json``.

Each file is a list of records ``{"model", "config", "data", "split", "metric",
"value", "unit", "command", "train_seconds", "date", "machine"}``;
``benchmarks/report.py`` writes ``docs/benchmarks.md`` from them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads")


def command() -> str:
    """The command line that ran this script, as one would type it."""
    return "python " + " ".join(shlex.quote(a) for a in sys.argv)


def run_command(run: str | Path, resume: bool) -> str:
    """The commands behind a run that may have been resumed: each is kept in ``run/commands.txt``
    (the new run's first), so a record names the whole sequence, not only its last step."""
    path = Path(run) / "commands.txt"
    earlier = path.read_text().splitlines() if resume and path.is_file() else []
    lines = [*earlier, command()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return ", then ".join(lines)


def run_options(ap: argparse.ArgumentParser, out: str, epochs: int = 100) -> None:
    """The options of a benchmark that trains for a time budget: ``--epochs``,
    ``--max-minutes``, ``--seed``, ``--threads``, ``--data-dir``, ``--out``, ``--resume``
    and ``--smoke``."""
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--max-minutes", type=float, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=out)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="a few hundred images, one epoch")


def parse(ap: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line and apply ``--threads``."""
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def record(model: str, config: dict, data: str, split: str, metric: str, value: float,
           unit: str, train_seconds: float | None = None, cmd: str | None = None) -> dict:
    return {"model": model, "config": config, "data": data, "split": split, "metric": metric,
            "value": value, "unit": unit, "command": cmd or command(),
            "train_seconds": train_seconds, "date": datetime.date.today().isoformat(),
            "machine": machine()}


def write(name: str, records: list[dict], replace: dict | None = None) -> Path:
    """Merge ``records`` into ``results/name.json``.

    A stored record is replaced when it has the same model, config, data, split
    and metric as a new one; others are kept.
    """
    path = RESULTS / f"{name}.json"
    old = json.loads(path.read_text()) if path.is_file() else []

    def key(r):
        return (r["model"], json.dumps(r["config"], sort_keys=True), r["data"], r["split"],
                r["metric"])

    new_keys = {key(r) for r in records}
    merged = [r for r in old if key(r) not in new_keys] + records
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(merged, indent=1) + "\n")
    os.replace(tmp, path)
    for r in records:
        print(f"{r['model']} {r['config']} {r['data']}/{r['split']} {r['metric']} = "
              f"{r['value']:.4g} {r['unit']}")
    print(f"wrote {path}\ncommand: {records[0]['command'] if records else command()}")
    return path
